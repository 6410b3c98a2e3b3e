// Types of build/source-url.mjs for the TypeScript tests.
export function publicSourceUrl(remote: string | undefined): string;

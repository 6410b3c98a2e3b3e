// Types of build/apt-sources.mjs for the TypeScript tests.
export interface AptSource { uri: string; suites: string[]; components: string[] }
export function parseAptSources(text: string, opts?: { deb822?: boolean }): AptSource[];
export function mirrorFor(sources: AptSource[], suite: string): string | undefined;
export function debianSources(o: { suite: string; mirror: string; security: string; keyring: string }): string;

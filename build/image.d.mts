// Types of build/image.mjs for the TypeScript tests.
export const DOCKERFILE: string;
export const BASE_NAME: string;
export const SLIM_EXCLUDES: string[];
export function imageName(version?: string): string;
export function buildImage(opts?: { build?: boolean; out?: string; cache?: string; mirror?: string; say?: (line: string) => void }):
  Promise<{ archive: string; sha256: string; bytes: number; seconds: number }>;

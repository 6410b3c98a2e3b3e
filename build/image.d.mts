// Types of build/image.mjs for the TypeScript tests.
export const DOCKERFILE: string;
export const BASE_NAME: string;
export const SLIM_EXCLUDES: string[];
export const APT_SOURCES_FILE: string;
export function aptPlan(mirror: string, security: string): { image: string; build: string };
export function slimScript(imageSources: string): string;
export function imageLabels(o: { version: string; commit: string; remote: string | undefined; created: string }): Record<'VERSION' | 'REVISION' | 'SOURCE' | 'CREATED', string>;
export function buildahBuildArgs(o: { labels: Record<string, string>; buildSources: string; tag: string; context: string }): string[];
export function imageName(version?: string): string;
export function buildImage(opts?: { build?: boolean; out?: string; cache?: string; mirror?: string; say?: (line: string) => void }):
  Promise<{ archive: string; sha256: string; bytes: number; seconds: number }>;

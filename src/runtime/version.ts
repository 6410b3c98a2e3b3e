// Filled in by esbuild `define` at build time; running from source says "dev".
declare const __RUGBYWORKER_VERSION__: string | undefined;
declare const __RUGBYWORKER_COMMIT__: string | undefined;

export const version: string = typeof __RUGBYWORKER_VERSION__ === 'string' ? __RUGBYWORKER_VERSION__ : '0.0.0-dev';
export const commit: string = typeof __RUGBYWORKER_COMMIT__ === 'string' ? __RUGBYWORKER_COMMIT__ : 'dev';

export function versionLine(): string {
  const flags = process.execArgv.filter((a) => a.startsWith('--max-semi-space-size'));
  return `rugbyworker ${version} (commit ${commit}) node ${process.version}${flags.length ? ` [${flags.join(' ')}]` : ''} linux-${process.arch}`;
}

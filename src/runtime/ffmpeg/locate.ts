import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { mediaToolSpawn } from './child-env.js';
import { FfmpegNotFoundError } from './errors.js';

export interface FfmpegEnv {
  FFMPEG_PATH?: string;
  FFPROBE_PATH?: string;
  PATH?: string;
}

export interface FfmpegBinaries {
  ffmpeg: string;
  ffprobe: string;
}

const INSTALL_HINT = 'install ffmpeg (Debian: apt-get install -y ffmpeg)';

/**
 * Finds ffmpeg and ffprobe. An explicit FFMPEG_PATH/FFPROBE_PATH must be executable
 * (a typo there should fail loudly, not silently pick another build); otherwise
 * ffprobe is looked for next to an explicit ffmpeg, then on PATH.
 */
export async function locateFfmpeg(env: FfmpegEnv): Promise<FfmpegBinaries> {
  const ffmpeg = await resolveOne('ffmpeg', 'FFMPEG_PATH', env.FFMPEG_PATH, [], env.PATH);
  const sibling = env.FFMPEG_PATH ? [join(dirname(ffmpeg), 'ffprobe')] : [];
  const ffprobe = await resolveOne('ffprobe', 'FFPROBE_PATH', env.FFPROBE_PATH, sibling, env.PATH);
  return { ffmpeg, ffprobe };
}

async function resolveOne(
  name: string,
  envName: string,
  explicit: string | undefined,
  extraCandidates: string[],
  pathVar: string | undefined,
): Promise<string> {
  if (explicit) {
    if (await isExecutableFile(explicit)) return explicit;
    throw new FfmpegNotFoundError(`${envName}=${explicit} is not an executable file; point ${envName} at the ${name} binary or unset it and ${INSTALL_HINT}`);
  }
  const dirs = (pathVar ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...extraCandidates, ...dirs.map((d) => join(d, name))]) {
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new FfmpegNotFoundError(`${name} not found on PATH; set FFMPEG_PATH/FFPROBE_PATH or ${INSTALL_HINT}`);
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Version token from `-version`, e.g. "5.1.6-0+deb12u1" (works for ffprobe too). */
export async function ffmpegVersion(bin: string): Promise<string> {
  const { stdout } = await execa(bin, ['-hide_banner', '-version'], { stdin: 'ignore', timeout: 15_000, ...mediaToolSpawn() });
  return parseVersion(stdout);
}

export function parseVersion(versionOutput: string): string {
  const match = /^\S+ version (\S+)/m.exec(versionOutput);
  if (!match?.[1]) throw new Error(`unrecognised version output: ${versionOutput.split('\n')[0] ?? ''}`);
  return match[1];
}

/** The binaries the configuration names (FFMPEG_PATH/FFPROBE_PATH, empty = unset), else from PATH. */
export function locateConfiguredFfmpeg(config: { FFMPEG_PATH: string; FFPROBE_PATH: string }, path: string | undefined = process.env.PATH): Promise<FfmpegBinaries> {
  return locateFfmpeg({ FFMPEG_PATH: config.FFMPEG_PATH || undefined, FFPROBE_PATH: config.FFPROBE_PATH || undefined, PATH: path });
}

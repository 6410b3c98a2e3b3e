// FFmpeg and ffprobe open uploaded media, which is untrusted input: they run with only the
// variables a media tool may need (where its libraries and GPUs are, locale, time zone,
// temp dir), never the worker's own. Credentials come in through the environment
// (systemd's EnvironmentFile with the Jetson .env, ECS task definitions), and a child
// inherits all of it unless told otherwise.
const KEEP = new Set(['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'LD_LIBRARY_PATH']);
const KEEP_PREFIXES = ['LC_', 'CUDA_', 'NVIDIA_'];

/** The environment of an FFmpeg or ffprobe child (with execa's `extendEnv: false`). */
export function mediaToolEnv(env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (KEEP.has(name) || KEEP_PREFIXES.some((p) => name.startsWith(p)))) kept[name] = value;
  }
  return kept;
}

/** execa options that start a media tool with only that environment. */
export function mediaToolSpawn(): { env: Record<string, string>; extendEnv: false } {
  return { env: mediaToolEnv(), extendEnv: false };
}

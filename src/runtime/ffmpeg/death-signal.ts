// FFmpeg outlives a worker that is SIGKILLed or OOM-killed: it ignores SIGPIPE, and nothing
// in-process runs after SIGKILL. util-linux's setpriv (2.33+: Debian 11+, Ubuntu 20.04+, so
// JetPack 5 and later) can have the kernel send it SIGKILL when its parent dies; where
// setpriv cannot, FFmpeg runs as before (systemd's KillMode=mixed still ends it at stop).
import { execa } from 'execa';
import { mediaToolSpawn } from './child-env.js';

let prefix: Promise<string[]> | undefined;

/** The command words to put before ffmpeg: `setpriv --pdeathsig KILL --`, or none. */
export function deathSignalPrefix(): Promise<string[]> {
  prefix ??= execa('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { reject: false, timeout: 5_000, stdin: 'ignore', ...mediaToolSpawn() })
    .then((r) => (r.exitCode === 0 ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []), () => []);
  return prefix;
}

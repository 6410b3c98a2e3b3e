// A slow board, made of a fast one: every ffmpeg the worker process starts is stopped and
// continued (SIGSTOP/SIGCONT) so that it runs `duty` of the time, as FFmpeg on a Jetson
// encoding a full ladder runs slower than real time. Only node:fs and signals.
import { readdirSync, readFileSync } from 'node:fs';

/** The pids of `ffmpeg` processes whose parent is `parent`. */
function ffmpegChildren(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read around its parentheses.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent && comm === 'ffmpeg') out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const signal = (pid: number, sig: NodeJS.Signals): void => {
  try {
    process.kill(pid, sig);
  } catch {
    // exited
  }
};

/** Throttles the worker's ffmpeg processes until the returned function is called (which lets them all run again). */
export function throttleFfmpeg(workerPid: number, duty = 0.25, periodMs = 400): () => void {
  let stopped = false;
  const runMs = Math.max(10, Math.round(periodMs * duty));
  const tick = (): void => {
    if (stopped) return;
    const pids = ffmpegChildren(workerPid);
    for (const pid of pids) signal(pid, 'SIGSTOP');
    setTimeout(() => {
      for (const pid of pids) signal(pid, 'SIGCONT');
      if (!stopped) setTimeout(tick, runMs);
    }, periodMs - runMs);
  };
  tick();
  return () => {
    stopped = true;
    for (const pid of ffmpegChildren(workerPid)) signal(pid, 'SIGCONT');
  };
}

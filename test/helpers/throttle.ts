// A slow board in a test: the named child processes of a worker (its ffmpeg) duty-cycled
// with SIGSTOP/SIGCONT, so they get about runMs of every periodMs, as FFmpeg on a Jetson
// encoding the full ladder runs at a fraction of real time. Children are found through
// /proc/PID/task/*/children, so a process that starts later (each attempt's ffmpeg) is
// caught at the next period.
import { readdir, readFile } from 'node:fs/promises';

export interface Throttle {
  /** Pids throttled so far. */
  readonly pids: ReadonlySet<number>;
  /** Stops cycling and lets every throttled process run again. */
  stop(): Promise<void>;
}

async function childrenOf(pid: number, name: string): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')));
  const pids = lists.join(' ').split(/\s+/).filter(Boolean).map(Number);
  const named = await Promise.all(pids.map(async (p) => ((await readFile(`/proc/${p}/comm`, 'utf8').catch(() => '')).trim() === name ? p : null)));
  return named.filter((p): p is number => p !== null);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

export function throttleChildren(parentPid: number, name: string, opts: { runMs: number; periodMs: number }): Throttle {
  const pids = new Set<number>();
  let live: number[] = [];
  let stopped = false;
  let pause: NodeJS.Timeout | undefined;
  const cycle = async (): Promise<void> => {
    live = await childrenOf(parentPid, name);
    if (stopped) return;
    for (const p of live) {
      pids.add(p);
      signal(p, 'SIGCONT');
    }
    pause = setTimeout(() => {
      if (!stopped) for (const p of live) signal(p, 'SIGSTOP');
    }, opts.runMs);
  };
  const timer = setInterval(() => void cycle(), opts.periodMs);
  return {
    pids,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(pause);
      for (const p of pids) signal(p, 'SIGCONT');
    },
  };
}

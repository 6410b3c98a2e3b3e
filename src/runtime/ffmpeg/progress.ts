export interface FfmpegProgress {
  frame: number | null;
  fps: number | null;
  outTimeSeconds: number | null;
  speed: number | null;
  totalSizeBytes: number | null;
  /** 0–100, only when the input duration is known. */
  percent: number | null;
  /** True on the final block (`progress=end`). */
  done: boolean;
}

export interface ProgressParserOptions {
  durationSeconds?: number;
}

/**
 * Parser for `-progress pipe:1 -nostats` output: key=value lines in blocks that end
 * with `progress=continue|end`. Chunks may split anywhere, so a partial line is kept
 * until its newline arrives; one callback per completed block.
 */
export function createProgressParser(
  onProgress: (p: FfmpegProgress) => void,
  opts: ProgressParserOptions = {},
): (chunk: string) => void {
  let pending = '';
  let block = new Map<string, string>();

  return (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (key === 'progress') {
        onProgress(toProgress(block, value === 'end', opts.durationSeconds));
        block = new Map();
      } else {
        block.set(key, value);
      }
    }
  };
}

function toProgress(block: Map<string, string>, done: boolean, durationSeconds?: number): FfmpegProgress {
  const outTimeSeconds = outTime(block);
  return {
    frame: num(block.get('frame')),
    fps: num(block.get('fps')),
    outTimeSeconds,
    speed: num(block.get('speed')?.replace(/x$/, '')),
    totalSizeBytes: num(block.get('total_size')),
    percent: percentOf(outTimeSeconds, done, durationSeconds),
    done,
  };
}

function outTime(block: Map<string, string>): number | null {
  // Despite its name, out_time_ms is in microseconds, like out_time_us.
  const micros = num(block.get('out_time_us')) ?? num(block.get('out_time_ms'));
  if (micros !== null) return Math.max(0, micros / 1e6);
  const clock = /^(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(block.get('out_time') ?? '');
  if (!clock) return null;
  const seconds = Number(clock[2]) * 3600 + Number(clock[3]) * 60 + Number(clock[4]);
  return clock[1] ? 0 : seconds;
}

function percentOf(outTimeSeconds: number | null, done: boolean, durationSeconds?: number): number | null {
  if (!durationSeconds || !(durationSeconds > 0)) return null;
  // The last block's out_time can fall a frame short of the duration; "end" means finished.
  if (done) return 100;
  if (outTimeSeconds === null) return null;
  return Math.min(100, Math.max(0, (outTimeSeconds / durationSeconds) * 100));
}

/** Numbers or null for absent, `N/A`, and anything unparsable. */
function num(value: string | undefined): number | null {
  if (value === undefined || value === '' || value === 'N/A') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

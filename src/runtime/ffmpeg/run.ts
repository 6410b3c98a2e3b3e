import { execa } from 'execa';
import type { Logger } from 'pino';
import { activityMoved, type ActivitySignature } from '../../domain/ffmpeg-activity.js';
import { mediaToolSpawn } from './child-env.js';
import { deathSignalPrefix } from './death-signal.js';
import { FfmpegError } from './errors.js';
import { createProgressParser } from './progress.js';
import type { FfmpegProgress } from './progress.js';
import { LineTail } from './tail.js';

export interface RunFfmpegOptions {
  signal?: AbortSignal;
  onProgress?: (p: FfmpegProgress) => void;
  /** Input duration, for `percent`. */
  durationSeconds?: number;
  /** Kill ffmpeg after this long with neither a progress block nor stderr output (nor `activity`). */
  stallSeconds?: number;
  /**
   * A cheap look at what ffmpeg has done besides -progress and stderr (segments closed, input
   * read), taken when the stall time has passed in silence: if it moved since the last look
   * the wait starts again, and only a look that stood still kills ffmpeg. So a killed run did
   * nothing for at least stallSeconds, and a stopped one dies within twice that. Without it,
   * silence alone is a stall.
   */
  activity?: (pid: number) => ActivitySignature | Promise<ActivitySignature>;
  cwd?: string;
  logger?: Logger;
}

export interface RunFfmpegResult {
  stderrTail: string;
}

export const DEFAULT_STALL_SECONDS = 120;
const STDERR_TAIL_LINES = 40;
const KILL_GRACE_MS = 2000;

/**
 * Runs ffmpeg with progress on stdout. Resolves only on exit 0; otherwise throws
 * FfmpegError ('exit' | 'stall' | 'aborted' | 'spawn'). The child is always reaped
 * before this returns or throws: SIGTERM first, SIGKILL after 2 s.
 */
export async function runFfmpeg(ffmpeg: string, args: string[], opts: RunFfmpegOptions = {}): Promise<RunFfmpegResult> {
  const { signal, onProgress, logger } = opts;
  const stallMs = (opts.stallSeconds ?? DEFAULT_STALL_SECONDS) * 1000;
  if (signal?.aborted) throw new FfmpegError({ reason: 'aborted', stderrTail: '' });

  const fullArgs = ['-hide_banner', '-nostdin', '-progress', 'pipe:1', '-nostats', ...args];
  logger?.debug({ event_type: 'ffmpeg_start', args: fullArgs }, 'ffmpeg start');
  const started = Date.now();

  // setpriv execs ffmpeg in place: same pid, same signals, same exit status.
  const prefix = await deathSignalPrefix();
  const [command, ...lead] = [...prefix, ffmpeg];
  const child = execa(command!, [...lead, ...fullArgs], {
    cwd: opts.cwd,
    ...mediaToolSpawn(),
    stdin: 'ignore',
    buffer: false,
    reject: false,
    cancelSignal: signal,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: KILL_GRACE_MS,
  });

  const stderr = new LineTail(STDERR_TAIL_LINES);
  let stalled = false;
  let exited = false;
  let stallTimer: NodeJS.Timeout | undefined;
  let armed = 0; // counts re-arms, so a look still in flight when output arrives decides nothing
  let lastLook: ActivitySignature | undefined;
  const look = async (): Promise<ActivitySignature | undefined> => {
    if (!opts.activity || child.pid === undefined) return undefined;
    try {
      return await opts.activity(child.pid);
    } catch (err) {
      logger?.debug({ event_type: 'ffmpeg_activity_unknown', err }, 'ffmpeg activity probe failed');
      return undefined;
    }
  };
  const onQuiet = async (armedAs: number): Promise<void> => {
    if (opts.activity) {
      const now = await look();
      if (armedAs !== armed || exited) return;
      const moved = now !== undefined && activityMoved(lastLook, now);
      lastLook = now ?? lastLook;
      if (moved) {
        logger?.debug({ event_type: 'ffmpeg_quiet_but_working', activity: now }, 'ffmpeg quiet but working');
        armStallTimer();
        return;
      }
    }
    stalled = true;
    logger?.warn({ event_type: 'ffmpeg_stall', stall_seconds: stallMs / 1000, ...(lastLook ? { activity: lastLook } : {}) }, 'ffmpeg stalled; killing');
    child.kill();
  };
  function armStallTimer(): void {
    clearTimeout(stallTimer);
    const armedAs = ++armed;
    stallTimer = setTimeout(() => void onQuiet(armedAs), stallMs);
  }

  // The final block is held back until exit 0, so `done` always means success.
  let finalBlock: FfmpegProgress | undefined;
  const report = (p: FfmpegProgress) => {
    // A throwing callback must not become an uncaught exception in a stream handler.
    try {
      onProgress?.(p);
    } catch (err) {
      logger?.warn({ event_type: 'ffmpeg_progress_callback_failed', err }, 'progress callback threw');
    }
  };
  const parse = createProgressParser((p) => {
    armStallTimer();
    if (p.done) finalBlock = p;
    else report(p);
  }, { durationSeconds: opts.durationSeconds });

  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => parse(chunk));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    armStallTimer();
    stderr.push(chunk);
  });

  armStallTimer();
  void look().then((first) => { lastLook ??= first; });
  let result;
  try {
    result = await child;
  } finally {
    exited = true;
    clearTimeout(stallTimer);
  }

  const stderrTail = stderr.text();
  const elapsed_ms = Date.now() - started;
  if (stalled) throw new FfmpegError({ reason: 'stall', stderrTail });
  if (result.isCanceled) {
    logger?.info({ event_type: 'ffmpeg_aborted', elapsed_ms }, 'ffmpeg aborted');
    throw new FfmpegError({ reason: 'aborted', stderrTail });
  }
  // Through setpriv, a missing ffmpeg is setpriv's exit 127, not a spawn error of our own.
  const setprivCouldNotExec = prefix.length > 0 && result.exitCode === 127 && /^setpriv: failed to execute/m.test(stderrTail);
  if ((result.exitCode === undefined && result.signal === undefined) || setprivCouldNotExec) {
    throw new FfmpegError({ reason: 'spawn', stderrTail: stderrTail || (result.shortMessage ?? 'spawn failed') }, { cause: result.cause });
  }
  if (result.exitCode !== 0) {
    logger?.warn({ event_type: 'ffmpeg_failed', exit_code: result.exitCode, signal: result.signal, elapsed_ms, stderr_tail: stderrTail }, 'ffmpeg failed');
    throw new FfmpegError({ reason: 'exit', exitCode: result.exitCode, stderrTail });
  }
  if (finalBlock) report(finalBlock);
  logger?.debug({ event_type: 'ffmpeg_done', elapsed_ms }, 'ffmpeg done');
  return { stderrTail };
}

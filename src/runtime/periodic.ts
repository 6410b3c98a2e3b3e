// The engine of a role that is not fed by a queue but wakes up on a timer (cleanup):
// a pass at start-up, then one every interval; `once` runs a single pass. It is to such
// roles what consumer.ts is to queue roles, so the role file is only the pass itself.
import type { Logger } from 'pino';
import type { RoleService } from '../ports/index.js';
import { sleep } from './retry.js';

export interface PassSignals {
  /** Shutdown started (or stop() was called): start no new unit of work. */
  readonly halted: AbortSignal;
  /** The shutdown grace expired: stop the unit of work in progress as soon as it safely can. */
  readonly deadline: AbortSignal;
}

export interface PeriodicOptions {
  name: string;
  once: boolean;
  /** The lifecycle's "stopping": the sleep between passes ends the moment it aborts. */
  stopping: AbortSignal;
  /** One pass; resolves whether it ran clean (false: it met an outage, the next one may come sooner). */
  pass(signals: PassSignals): Promise<boolean>;
  /** Milliseconds until the next pass, after a pass that ran clean (true) or met an outage (false). */
  nextDelayMs(clean: boolean): number;
  /** Wait this long before the first pass (default: none, the first pass runs at start-up). */
  firstDelayMs?: number;
  logger: Logger;
  /** Called once the loop has ended, whatever ended it. */
  onEnd?: () => void;
}

export function startPeriodic(opts: PeriodicOptions): RoleService & { readonly done: Promise<void> } {
  const stopCalled = new AbortController();
  const halted = AbortSignal.any([opts.stopping, stopCalled.signal]);
  const deadline = new AbortController();

  async function loop(): Promise<void> {
    try {
      if (opts.firstDelayMs && !(await sleep(opts.firstDelayMs, halted).then(() => true, () => false))) return;
      for (;;) {
        const clean = await opts.pass({ halted, deadline: deadline.signal });
        if (opts.once || halted.aborted) return;
        const delayMs = opts.nextDelayMs(clean);
        opts.logger.debug({ event_type: `${opts.name}_sleeping`, seconds: delayMs / 1000 }, `next ${opts.name} pass in ${Math.round(delayMs / 1000)} s`);
        // Rejects the moment shutdown starts: a 6 h sleep must not hold up a stop.
        if (!(await sleep(delayMs, halted).then(() => true, () => false))) return;
      }
    } finally {
      opts.onEnd?.();
    }
  }

  const done = loop();
  return {
    name: opts.name,
    done,
    async stop(grace) {
      stopCalled.abort(new Error(`${opts.name} stopped`));
      const onDeadline = (): void => deadline.abort(grace.reason);
      if (grace.aborted) onDeadline();
      else grace.addEventListener('abort', onDeadline, { once: true });
      try {
        await done;
      } finally {
        grace.removeEventListener('abort', onDeadline);
      }
    },
  };
}

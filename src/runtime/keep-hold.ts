// A claim on shared work kept alive by rewriting it every few seconds (the stereo reassembly
// lock, the transcode jobs row), so that others can tell a live holder from a dead one. A
// refresh that finds the claim no longer ours (taken over after we stalled) aborts `lost`:
// the work stops rather than finish a second time. A refresh that fails (an outage) is not
// fatal: the claim goes stale only after several missed refreshes.
export interface KeptHold {
  /** Aborts, with the reason from `lostError`, when a refresh found the claim taken over. */
  readonly lost: AbortSignal;
  /** Stops refreshing; awaits a refresh in flight. */
  stop(): Promise<void>;
}

export function keepHold(opts: {
  /** True: still ours (and now refreshed); false: someone else's. Throws: could not tell. */
  refresh: () => Promise<boolean>;
  intervalSeconds: number;
  lostError: () => Error;
  onRefreshFailed: (err: unknown) => void;
}): KeptHold {
  const lost = new AbortController();
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;
  const refresh = async (): Promise<void> => {
    try {
      if (!(await opts.refresh()) && !stopped) lost.abort(opts.lostError());
    } catch (err) {
      opts.onRefreshFailed(err);
    }
  };
  const timer = setInterval(() => { if (!stopped && !lost.signal.aborted) inFlight = refresh(); }, opts.intervalSeconds * 1000);
  timer.unref();
  return {
    lost: lost.signal,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}

// How a live reassembly keeps its ReassemblyTriggered lock, and when a redelivered message may
// take a lock over (a worker killed mid-reassembly: its message comes back after the lease;
// upstream's lock stands for ever, lost-job 3). The holder rewrites reassembly_started_at
// every refreshSeconds; a message that finds it older than takeoverSeconds takes the job.
//
// The message lease is extended every HEARTBEAT_INTERVAL by HEARTBEAT_EXTENSION (> interval).
// A live holder's lock is never older than refreshSeconds (plus a write); a dead holder's
// message is delivered again no sooner than HEARTBEAT_EXTENSION after its last beat. Any
// threshold between the two tells them apart; the midpoint leaves both sides the same margin.

export interface LockTiming {
  /** How often the holder rewrites reassembly_started_at. */
  refreshSeconds: number;
  /** A lock not rewritten for longer than this has a dead holder. */
  takeoverSeconds: number;
}

export function reassemblyLockTiming(heartbeatIntervalSeconds: number, heartbeatExtensionSeconds: number): LockTiming {
  if (!(heartbeatExtensionSeconds > heartbeatIntervalSeconds) || !(heartbeatIntervalSeconds > 0)) {
    throw new RangeError(`heartbeat extension (${heartbeatExtensionSeconds} s) must exceed its interval (${heartbeatIntervalSeconds} s) > 0`);
  }
  const refreshSeconds = Math.max(1, Math.floor(heartbeatIntervalSeconds / 2));
  // reassembly_started_at is whole seconds: one more of slack for the rounding.
  const takeoverSeconds = Math.max(refreshSeconds + 2, Math.floor((refreshSeconds + heartbeatExtensionSeconds) / 2));
  return { refreshSeconds, takeoverSeconds };
}

// What a ReassemblyTriggered lock says to an operator: none, triggered (no reassembly took it
// yet) or started (a reassembly took it), and how long ago.
import type { ReassemblyLock } from './records.js';

export type LockState =
  | { state: 'none' }
  | { state: 'triggered'; triggeredAt: number; secondsAgo: number }
  | { state: 'started'; triggeredAt: number; startedAt: number; secondsAgo: number };

/** `now` in unix seconds; secondsAgo counts from the trigger, or from the reassembly's start, which its heartbeat moves forward. */
export function lockState(lock: ReassemblyLock | null, now: number): LockState {
  if (lock === null) return { state: 'none' };
  if (lock.reassemblyStartedAt === null) return { state: 'triggered', triggeredAt: lock.triggeredAt, secondsAgo: Math.max(0, now - lock.triggeredAt) };
  return { state: 'started', triggeredAt: lock.triggeredAt, startedAt: lock.reassemblyStartedAt, secondsAgo: Math.max(0, now - lock.reassemblyStartedAt) };
}

export function describeLock(lock: LockState): string {
  switch (lock.state) {
    case 'none': return 'none';
    case 'triggered': return `triggered ${lock.secondsAgo} s ago, not taken by a reassembly`;
    case 'started': return `started: a reassembly took it, its last heartbeat ${lock.secondsAgo} s ago`;
  }
}

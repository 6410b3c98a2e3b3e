import { describe, expect, it } from '@jest/globals';
import { planManualTrigger, type ManualTriggerInput } from '../../src/domain/stereo/manual-trigger.js';
import { describeLock, lockState } from '../../src/domain/stereo/lock-state.js';
import type { ReassemblyLock, StereoJob } from '../../src/domain/stereo/records.js';

const NOW = 1_800_000_000;
const job = (status: string): StereoJob => ({ jobId: 'j', mode: 'sbs', status, createdAt: 1, totalSegments: 2, completedAt: null });
const taken: ReassemblyLock = { jobId: 'j', triggeredAt: NOW - 100, ttl: NOW + 1, reassemblyStartedAt: NOW - 30 };
const untaken: ReassemblyLock = { ...taken, reassemblyStartedAt: null };
const input = (over: Partial<ManualTriggerInput>): ManualTriggerInput => ({
  jobId: 'j', job: job('chunking_complete'), completions: 2, lock: null, resetLock: false, now: NOW, takeoverSeconds: 180, ...over,
});

describe('planManualTrigger (runbook 3 step 4)', () => {
  it('a chunking_complete job with no lock: put and send', () => {
    expect(planManualTrigger(input({}))).toEqual({ ok: true, deleteLock: null, warnings: [] });
  });

  it('refuses a standing lock and says what it holds; --reset-lock deletes exactly that lock', () => {
    expect(planManualTrigger(input({ lock: untaken }))).toEqual({
      ok: false, reason: 'a reassembly lock stands for job j: triggered 100 s ago, not taken by a reassembly; nothing sent (pass --reset-lock to delete it first, the stale-lock repair)',
    });
    expect(planManualTrigger(input({ lock: untaken, resetLock: true }))).toEqual({ ok: true, deleteLock: untaken, warnings: [] });
    // A reassembly heard of within the takeover time may be alive: said, not refused.
    expect(planManualTrigger(input({ lock: taken, resetLock: true }))).toEqual({
      ok: true, deleteLock: taken, warnings: ["the lock's reassembly was heard of 30 s ago and may still be running: if it is, two reassemblies now run (each writes the same final.mp4)"],
    });
  });

  it('refuses a missing job and one no reassembly would take; warns about missing segments', () => {
    expect(planManualTrigger(input({ job: null }))).toEqual({ ok: false, reason: 'no job j in the Jobs table' });
    expect(planManualTrigger(input({ job: job('completed') }))).toMatchObject({ ok: false, reason: 'job j is already completed: nothing to reassemble' });
    expect(planManualTrigger(input({ job: job('chunking_in_progress') }))).toMatchObject({ ok: false, reason: expect.stringContaining('not chunking_complete') });
    expect(planManualTrigger(input({ job: job('failed') }))).toMatchObject({ ok: false, reason: 'job j is failed: a reassembly would skip it' });
    expect(planManualTrigger(input({ completions: 1 }))).toEqual({ ok: true, deleteLock: null, warnings: ['only 1 of 2 segments are complete: the reassembly will wait (retried) until all are'] });
  });

  it('lock states as diagnose shows them', () => {
    expect(lockState(null, NOW)).toEqual({ state: 'none' });
    expect(lockState(untaken, NOW)).toEqual({ state: 'triggered', triggeredAt: NOW - 100, secondsAgo: 100 });
    expect(lockState(taken, NOW)).toEqual({ state: 'started', triggeredAt: NOW - 100, startedAt: NOW - 30, secondsAgo: 30 });
    expect(describeLock(lockState(taken, NOW))).toBe('started: a reassembly took it, its last heartbeat 30 s ago');
  });
});

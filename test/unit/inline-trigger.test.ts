// The inline trigger of chunk and segment-infer (roles/stereo/inline-trigger.ts) under
// the permissions a task has: on only where every call of it is allowed; never a lock put
// by a task that may not send (it would stand with no message); off when its settings are
// unset; a refusal met later turns it off without failing the job; and chunk's nudge of the
// SegmentCompletions stream when every segment was recorded before chunking_complete.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { MemoryPipelineDb } from '../../src/adapters/db/memory-pipeline.js';
import { MemoryQueue } from '../../src/adapters/queue/memory.js';
import { InlineTrigger } from '../../roles/stereo/inline-trigger.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import type { PermissionCheck } from '../../src/domain/stereo/task-permissions.js';
import type { ProbeVerdict } from '../../src/domain/sqs-permissions.js';
import type { RoleContext, RolePorts } from '../../src/ports/index.js';

type Line = Record<string, unknown> & { event_type?: string };

const SETTINGS = { REASSEMBLY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/stereo-spot-reassembly', REASSEMBLY_TRIGGERED_TABLE_NAME: 'stereo-spot-reassembly-triggered' };

function world(opts: { env?: Record<string, string>; verdict?: (c: PermissionCheck) => ProbeVerdict; noProbe?: boolean } = {}) {
  const lines: Line[] = [];
  const logger = pino({}, { write(s: string) { lines.push(JSON.parse(s) as Line); } });
  const db = new MemoryPipelineDb();
  const queue = new MemoryQueue({ name: 'reassembly' });
  const asked: string[] = [];
  const ports = {
    queue: async () => queue,
    ...(opts.noProbe ? {} : { permissions: () => ({ probe: async (checks: readonly PermissionCheck[]) => checks.map((c) => { asked.push(c.action); return opts.verdict?.(c) ?? 'present'; }) }) }),
  } as unknown as RolePorts;
  const config = loadConfig({ env: { QUEUE_BACKEND: 'sqs', ...opts.env } });
  const ctx = { config, logger, ports, metrics: new Metrics({ instanceId: 't', logger }) } as unknown as RoleContext;
  const ready = (jobId: string, status = 'chunking_complete'): void => {
    db.seedJob({ job_id: jobId, mode: 'sbs', status, created_at: 1, total_segments: 2 });
  };
  const complete = async (jobId: string): Promise<void> => {
    for (const i of [0, 1]) await db.putCompletion({ jobId, segmentIndex: i, outputS3Uri: `s3://o/jobs/${jobId}/segments/${i}.mp4`, completedAt: 100 + i, totalSegments: 2 });
  };
  return { lines, logger, db, queue, ctx, asked, ready, complete, events: (t: string) => lines.filter((l) => l.event_type === t) };
}

const sent = async (q: MemoryQueue): Promise<string[]> => (await q.receive({ max: 10, waitSeconds: 0 })).map((m) => m.body);

describe('InlineTrigger', () => {
  it('with every call allowed: on, and a ready job is triggered once', async () => {
    const t = world({ env: SETTINGS });
    const trigger = await InlineTrigger.open(t.ctx, 'segment-infer', t.db);
    expect(trigger.on).toBe(true);
    t.ready('j');
    await t.complete('j');
    expect(await trigger.run('j', t.logger)).toBe('sent');
    expect(await sent(t.queue)).toEqual(['{"job_id":"j"}']);
    expect(t.events('permission_missing')).toEqual([]);
  });

  it('upstream\'s video-worker task (no REASSEMBLY_* settings): off without asking anything, and says why', async () => {
    const t = world();
    const trigger = await InlineTrigger.open(t.ctx, 'segment-infer', t.db);
    expect(trigger.on).toBe(false);
    expect(t.asked).toEqual([]);
    expect(t.events('inline_trigger_off').map((l) => l.reason)).toEqual(['REASSEMBLY_QUEUE_URL is not set']);
    t.ready('j');
    await t.complete('j');
    expect(await trigger.run('j', t.logger)).toBe('off');
    expect(await t.db.getLock('j')).toBeNull();
  });

  it('upstream\'s media-worker task (may put the lock, may not send): off, never a lock; the missing permission said once', async () => {
    const t = world({ env: SETTINGS, verdict: (c) => (c.action === 'sqs:SendMessage' ? 'missing' : 'present') });
    const trigger = await InlineTrigger.open(t.ctx, 'chunk', t.db);
    const again = await InlineTrigger.open(t.ctx, 'segment-infer', t.db);
    expect([trigger.on, again.on]).toEqual([false, false]);
    t.ready('j');
    await t.complete('j');
    await trigger.afterChunking('j', 2, t.logger);
    expect(await t.db.getLock('j')).toBeNull();
    expect(await sent(t.queue)).toEqual([]);
    expect(t.events('permission_missing').map((l) => [l.permission, l.resource, l.severity ?? l.level])).toEqual([['sqs:SendMessage', 'REASSEMBLY_QUEUE_URL', 40]]);
  });

  it('off, with the nudge: every segment recorded before chunking_complete → the last completion written again with a later completed_at', async () => {
    const t = world({ env: SETTINGS, verdict: (c) => (c.action === 'sqs:SendMessage' ? 'missing' : 'present') });
    const trigger = await InlineTrigger.open(t.ctx, 'chunk', t.db, { nudge: true });
    t.ready('j');
    await t.complete('j');
    await trigger.afterChunking('j', 2, t.logger);
    expect((await t.db.completions('j')).map((c) => c.completedAt)).toEqual([100, expect.any(Number)]);
    expect((await t.db.completions('j'))[1]!.completedAt).toBeGreaterThan(101);
    expect(t.events('trigger_stream_nudged')).toHaveLength(1);
    // Not all recorded yet: nothing written (the last completion's own stream record will come).
    t.ready('k');
    await t.db.putCompletion({ jobId: 'k', segmentIndex: 0, outputS3Uri: 's3://o/jobs/k/segments/0.mp4', completedAt: 100, totalSegments: 2 });
    await trigger.afterChunking('k', 2, t.logger);
    expect((await t.db.completions('k')).map((c) => c.completedAt)).toEqual([100]);
  });

  it('a refusal the probe could not foresee (it had no answer) turns the trigger off: logged once, the job not failed', async () => {
    const t = world({ env: SETTINGS, verdict: () => 'unknown' });
    const trigger = await InlineTrigger.open(t.ctx, 'segment-infer', t.db);
    expect(trigger.on).toBe(true);
    const denied = Object.assign(new Error('User: x is not authorized to perform: dynamodb:GetItem on resource: arn:…:table/stereo-spot-reassembly-triggered'), { name: 'AccessDeniedException' });
    t.db.getLock = async () => { throw denied; };
    t.ready('j');
    await t.complete('j');
    expect(await trigger.run('j', t.logger)).toBe('off');
    expect(await trigger.run('j', t.logger)).toBe('off');
    expect(trigger.on).toBe(false);
    expect(t.events('permission_missing').map((l) => l.permission)).toEqual(['dynamodb:GetItem']);
    // Any other failure is the job's: it propagates.
    const t2 = world({ env: SETTINGS });
    const other = await InlineTrigger.open(t2.ctx, 'segment-infer', t2.db);
    t2.db.getJob = async () => { throw new Error('network down'); };
    await expect(other.run('j', t2.logger)).rejects.toThrow('network down');
  });

  it('local mode (in-process queues and tables, no probe): on with no setting', async () => {
    const t = world({ env: { QUEUE_BACKEND: 'memory' }, noProbe: true });
    expect((await InlineTrigger.open(t.ctx, 'chunk', t.db)).on).toBe(true);
  });
});

// The transcode role on the shipped executable with only the SQS permissions of the Jetson's
// AWS user, made for the Python worker (Receive, Delete, ChangeVisibility on its queue): fauxqs
// behind an IAM-enforcing proxy (test/helpers/sqs-policy-proxy.ts). The worker starts (no exit
// 78), says once what it lacks, transcodes, leaves an invalid message to the queue's redrive
// policy (no tight loop) while it keeps working, and /health stays 200. `doctor` lists what is
// present and what is missing, and what each missing one costs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { runExe } from '../helpers/binary.js';
import { makeClip, startRugbyCodex, type Queues, type RugbyCodex } from '../helpers/rugbycodex.js';
import { jetsonPolicy, startSqsPolicyProxy, type SqsPolicy, type SqsPolicyProxy } from '../helpers/sqs-policy-proxy.js';
import { expectTranscodedOnce, workFilesLeft } from '../helpers/transcode-checks.js';
import { healthOf, startWorkerProcess, watchHealth } from '../helpers/worker-process.js';
import { until } from '../helpers/wait.js';

const VISIBILITY = 3;
const MAX_RECEIVES = 3;

let codex: RugbyCodex;
let tmp: string;
let clip: string;
const proxies: SqsPolicyProxy[] = [];

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-perms-'));
  clip = join(tmp, 'match.mp4');
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 4, '640x360')]);
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const nameOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

async function queuesBehind(policy: (q: { name: string; dlqName: string }) => SqsPolicy): Promise<Queues & { proxy: SqsPolicyProxy; name: string }> {
  const queues = await codex.createQueues({ visibilitySeconds: 30, maxReceives: MAX_RECEIVES });
  const name = nameOf(queues.queueUrl);
  const proxy = await startSqsPolicyProxy(codex.fauxqs.endpoint, policy({ name, dlqName: nameOf(queues.dlqUrl!) }));
  proxies.push(proxy);
  return { ...queues, proxy, name };
}

async function dlqBodies(dlqUrl: string): Promise<string[]> {
  const r = await codex.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
  return (r.Messages ?? []).map((m) => m.Body ?? '');
}

describe('transcode with the Jetson\'s SQS permissions only', () => {
  it('starts, says once what it lacks, transcodes, leaves an invalid message to the redrive policy, /health 200 throughout', async () => {
    const q = await queuesBehind(({ name }) => jetsonPolicy(name));
    const u = await codex.seedUpload(clip);
    const workDir = join(tmp, 'work-jetson');
    const w = await startWorkerProcess(['--role', 'transcode'], codex.workerEnv(q.queueUrl, workDir, {
      AWS_ENDPOINT_URL_SQS: q.proxy.endpoint, SQS_VISIBILITY_TIMEOUT: String(VISIBILITY),
      HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10', HLS_RENDITIONS: '360',
    }), 'jetson');
    try {
      await w.waitFor((e) => e.event_type === 'consumer_started');
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: 'not json {' }));
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: q.queueUrl, MessageBody: u.body }));
      const done = (async () => {
        await w.waitFor((e) => e.event_type === 'job_succeeded' && e.job_id === u.job, 90_000);
        await until('the invalid message in the DLQ', 60_000, async () => (await dlqBodies(q.dlqUrl!)).length > 0, { everyMs: 250 });
      })();
      const health = await watchHealth(w.health, done);
      await done;

      expect(health.map((h) => h.label)).toEqual(['200']);
      await expectTranscodedOnce(codex, w.events, u, 2);
      expect(await dlqBodies(q.dlqUrl!)).toEqual(['not json {']);
      // Each receive of the invalid message, one visibility timeout apart: SQS moved it after maxReceiveCount.
      const invalid = w.events.filter((e) => e.event_type === 'message_invalid');
      expect(invalid.length).toBeGreaterThanOrEqual(1);
      expect(invalid.length).toBeLessThanOrEqual(MAX_RECEIVES + 1);
      expect(invalid.map((e) => e.receive_count)).toEqual(invalid.map((_, i) => i + 1));
      for (let i = 1; i < invalid.length; i++) expect(invalid[i]!.at_ms! - invalid[i - 1]!.at_ms!).toBeGreaterThan((VISIBILITY - 1) * 1000);
      expect(w.events.filter((e) => e.event_type === 'sqs_message_left_for_redrive')).toHaveLength(invalid.length);
      // Each missing permission said once, at start-up; nothing the policy lacks was tried again.
      const missing = w.events.filter((e) => e.event_type === 'sqs_permission_missing');
      expect(missing.map((e) => `${String(e.permission)} ${String(e.queue)}`)).toEqual([`sqs:GetQueueAttributes ${q.name}`]);
      expect(missing[0]).toMatchObject({ assumed_max_receive_count: 3 });
      expect(q.proxy.denied()).toEqual([`GetQueueAttributes on ${q.name}`]);
      expect(w.events.filter((e) => e.event_type === 'dependency_down')).toEqual([]);
    } finally {
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(workDir)).toEqual([]);
  }, 150_000);

  it('the reconciler without sqs:SendMessage: one line naming it, then it stops; the worker goes on, /health 200', async () => {
    const q = await queuesBehind(({ name }) => jetsonPolicy(name));
    const lost = await codex.seedUpload(clip); // queued since long ago, its message never sent
    const w = await startWorkerProcess(['--role', 'transcode'], codex.workerEnv(q.queueUrl, join(tmp, 'work-requeue'), {
      AWS_ENDPOINT_URL_SQS: q.proxy.endpoint, TRANSCODE_REQUEUE_MINUTES: '0.02',
    }), 'jetson-requeue');
    try {
      const refused = await w.waitFor((e) => e.event_type === 'transcode_requeue_refused', 30_000);
      expect(refused).toMatchObject({ permission: `sqs:SendMessage on ${q.name}` });
      await new Promise((r) => setTimeout(r, 3000)); // three more passes' worth
      expect(w.events.filter((e) => e.event_type === 'transcode_requeue_refused')).toHaveLength(1);
      expect(q.proxy.denied().filter((d) => d.startsWith('SendMessage'))).toEqual([`SendMessage on ${q.name}`]);
      expect(await healthOf(w.health)).toEqual({ status: 200, failing: [] });
      // The job waits queued for a worker that may send its message.
      expect(await codex.standin.row('jobs', lost.job)).toMatchObject({ state: 'queued' });
    } finally {
      expect(await w.stop()).toBe(0);
    }
  }, 60_000);

  it('doctor --role transcode: Receive, Delete, ChangeVisibility present, the rest missing with its cost; still ready (exit 0)', async () => {
    const q = await queuesBehind(({ name }) => jetsonPolicy(name));
    const before = await codex.depth(q.queueUrl);
    const r = await runExe(['doctor', '--role', 'transcode'], { env: codex.workerEnv(q.queueUrl, join(tmp, 'work-doctor'), { AWS_ENDPOINT_URL_SQS: q.proxy.endpoint }), timeoutMs: 60_000 });
    const lines = r.stdout.trim().split('\n');
    const line = (name: string) => lines.find((l) => l.slice(2).startsWith(`${name}:`)) ?? `(no ${name} line in ${r.stdout})`;
    expect(line(`sqs:ReceiveMessage on ${q.name}`)).toBe(`✓ sqs:ReceiveMessage on ${q.name}: present`);
    expect(line(`sqs:DeleteMessage on ${q.name}`)).toBe(`✓ sqs:DeleteMessage on ${q.name}: present`);
    expect(line(`sqs:ChangeMessageVisibility on ${q.name}`)).toBe(`✓ sqs:ChangeMessageVisibility on ${q.name}: present`);
    expect(line(`sqs:GetQueueAttributes on ${q.name}`)).toMatch(/^✗ sqs:GetQueueAttributes on \S+: missing: .*SQS_ASSUMED_MAX_RECEIVE_COUNT.* \(not required\)$/);
    expect(line(`sqs:SendMessage on ${q.name}`)).toMatch(/^✗ sqs:SendMessage on \S+: missing: the transcode reconciler cannot send a lost message again.* \(not required\)$/);
    expect(line('sqs:SendMessage on the DLQ')).toMatch(/^✗ sqs:SendMessage on the DLQ: not probed: .*left to the queue's redrive policy.* \(not required\)$/);
    // The queue answered; only its depth is unknown.
    expect(line('SQS_TRANSCODE_QUEUE_URL reachable')).toMatch(/^✓ SQS_TRANSCODE_QUEUE_URL reachable: answers; depth unknown/);
    expect(lines.at(-1)).toBe('doctor: ready for roles transcode');
    expect(r.code).toBe(0);
    // The probes changed nothing: no message sent, none taken.
    expect(await codex.depth(q.queueUrl)).toEqual(before);
    expect(await dlqBodies(q.dlqUrl!)).toEqual([]);

    // Without Receive (the Python worker's own call): unusable, exit 1.
    q.proxy.setPolicy({ [q.name]: ['DeleteMessage', 'ChangeMessageVisibility'] });
    const broken = await runExe(['doctor', '--role', 'transcode'], { env: codex.workerEnv(q.queueUrl, join(tmp, 'work-doctor'), { AWS_ENDPOINT_URL_SQS: q.proxy.endpoint }), timeoutMs: 60_000 });
    expect(broken.stdout).toMatch(new RegExp(`^✗ sqs:ReceiveMessage on ${q.name}: missing: no message is ever received$`, 'm'));
    expect(broken.stdout.trim().split('\n').at(-1)).toBe(`doctor: 1 problem for roles transcode: sqs:ReceiveMessage on ${q.name}`);
    expect(broken.code).toBe(1);
  }, 120_000);

  it('doctor --role transcode with full permissions: every one present, the DLQ\'s included', async () => {
    const q = await queuesBehind(() => ({ '*': '*' }));
    const dlqName = nameOf(q.dlqUrl!);
    const r = await runExe(['doctor', '--role', 'transcode'], { env: codex.workerEnv(q.queueUrl, join(tmp, 'work-doctor-full'), { AWS_ENDPOINT_URL_SQS: q.proxy.endpoint }), timeoutMs: 60_000 });
    const perms = r.stdout.split('\n').filter((l) => l.slice(2).startsWith('sqs:'));
    expect(perms).toEqual([
      `✓ sqs:GetQueueAttributes on ${q.name}: present`,
      `✓ sqs:ReceiveMessage on ${q.name}: present`,
      `✓ sqs:DeleteMessage on ${q.name}: present`,
      `✓ sqs:ChangeMessageVisibility on ${q.name}: present`,
      `✓ sqs:SendMessage on ${q.name}: present`,
      `✓ sqs:GetQueueUrl on ${dlqName}: present`,
      `✓ sqs:SendMessage on ${dlqName}: present`,
    ]);
    expect(r.code).toBe(0);
    expect(await codex.depth(q.queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await dlqBodies(q.dlqUrl!)).toEqual([]);
  }, 90_000);
});

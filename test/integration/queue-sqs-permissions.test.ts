// SqsQueue with only the permissions the Python worker's AWS user has (issue 18 item 8):
// fauxqs behind an IAM-enforcing proxy (test/helpers/sqs-policy-proxy.ts). Each refusal the
// worker can do without is logged once, replaced by the queue's own redrive policy, and never
// rejects; bad credentials still do.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { SqsQueue } from '../../src/adapters/queue/sqs.js';
import { SqsDeadLetters } from '../../src/adapters/queue/sqs-dead-letters.js';
import { REASON_ATTRIBUTE } from '../../src/adapters/queue/sqs-parse.js';
import { DependencyHealth, watched } from '../../src/runtime/dependency-health.js';
import { isRefusedCredential } from '../../src/domain/failure.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { jetsonPolicy, startSqsPolicyProxy, type SqsPolicy, type SqsPolicyProxy } from '../helpers/sqs-policy-proxy.js';

const MAX_RECEIVES = 3;
const VISIBILITY = 1;

let fauxqs: LocalServer;
let admin: SQSClient;
const cleanup: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  fauxqs = await startFauxqs();
  admin = new SQSClient(awsTestClientConfig(fauxqs.endpoint));
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  admin?.destroy();
  await fauxqs?.stop();
});

async function createQueues(): Promise<{ queueUrl: string; dlqUrl: string; name: string; dlqName: string }> {
  const name = `perm-${randomUUID().slice(0, 8)}`;
  const dlqName = `${name}-dlq`;
  const dlqUrl = (await admin.send(new CreateQueueCommand({ QueueName: dlqName }))).QueueUrl!;
  const arn = (await admin.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queueUrl = (await admin.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: { VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES }) },
  }))).QueueUrl!;
  return { queueUrl, dlqUrl, name, dlqName };
}

interface Line { level: number; msg: string; event_type?: string; permission?: string; queue?: string; assumed_max_receive_count?: number; required?: boolean }

async function behind(policy: (names: { name: string; dlqName: string }) => SqsPolicy, opts: { assumedMaxReceiveCount?: number; leaseOptional?: boolean } = {}) {
  const queues = await createQueues();
  const proxy: SqsPolicyProxy = await startSqsPolicyProxy(fauxqs.endpoint, policy(queues));
  const client = new SQSClient(awsTestClientConfig(proxy.endpoint));
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  cleanup.push(() => client.destroy(), () => proxy.stop());
  const open = () => SqsQueue.open({ client, queueUrl: queues.queueUrl, logger, ...opts });
  const missing = () => lines.filter((l) => l.event_type === 'sqs_permission_missing');
  return { ...queues, proxy, client, lines, open, missing };
}

/** The DLQ's letters as [body, the reason this adapter attaches when it sends one itself]; peeked, left in place. */
async function dlqLetters(dlqUrl: string): Promise<Array<[string, string | null]>> {
  const r = await admin.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 0, MessageAttributeNames: ['All'] }));
  return (r.Messages ?? []).map((m) => [m.Body ?? '', m.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue ?? null]);
}

/** Receives (visibility 1 s) and dead-letters every delivery of the one message until SQS moves it: how many deliveries there were. */
async function deadLetterUntilMoved(queue: SqsQueue, dlqUrl: string): Promise<number> {
  let deliveries = 0;
  for (const until = Date.now() + 15_000; Date.now() < until;) {
    const got = await queue.receive({ max: 1, waitSeconds: 1, visibilitySeconds: VISIBILITY });
    for (const m of got) {
      deliveries++;
      expect(m.receiveCount).toBe(deliveries);
      await queue.deadLetter(m, 'invalid message: not JSON');
      // Given back for a visibility timeout, not at once: no tight loop.
      expect(await queue.receive({ max: 1, waitSeconds: 0 })).toEqual([]);
    }
    if ((await dlqLetters(dlqUrl)).length > 0) return deliveries;
  }
  throw new Error(`still not in the DLQ after ${deliveries} deliveries`);
}

describe('SqsQueue behind an IAM policy', () => {
  it('the Jetson\'s user: opens without GetQueueAttributes, assuming maxReceiveCount 3, said once; the refusal proves the credentials', async () => {
    const t = await behind(({ name }) => jetsonPolicy(name));
    const queue = await t.open();
    expect(queue.maxReceiveCount).toBe(3);
    await queue.init();
    expect(t.missing()).toEqual([expect.objectContaining({ permission: 'sqs:GetQueueAttributes', queue: t.name, assumed_max_receive_count: 3 })]);
    expect(t.missing()[0]!.msg).toMatch(new RegExp(`^sqs:GetQueueAttributes on ${t.name} refused by the IAM policy; assuming maxReceiveCount 3; without it .*SQS_ASSUMED_MAX_RECEIVE_COUNT.*redrive policy`));
    expect(t.proxy.calls.filter((c) => c.action === 'GetQueueAttributes')).toHaveLength(1);
    // The setting's value, when the live queue says otherwise.
    const five = await SqsQueue.open({ client: t.client, queueUrl: t.queueUrl, assumedMaxReceiveCount: 5 });
    expect(five.maxReceiveCount).toBe(5);
  });

  it('the Jetson\'s user: an invalid message is left to the redrive policy, one visibility apart, and SQS moves it after maxReceiveCount; /health stays up', async () => {
    const t = await behind(({ name }) => jetsonPolicy(name));
    const health = new DependencyHealth();
    const queue = await watched(SqsQueue, 'sqs', health).open({ client: t.client, queueUrl: t.queueUrl }).then((q) => watched(q, 'sqs', health));
    await admin.send(new SendMessageCommand({ QueueUrl: t.queueUrl, MessageBody: 'not json' }));
    const deliveries = await deadLetterUntilMoved(queue, t.dlqUrl);
    expect(deliveries).toBe(MAX_RECEIVES);
    expect(await dlqLetters(t.dlqUrl)).toEqual([['not json', null]]);
    // Never tried what the policy lacks beyond the one read; nothing sent anywhere.
    expect(t.proxy.denied()).toEqual([`GetQueueAttributes on ${t.name}`]);
    expect(t.proxy.calls.filter((c) => c.action === 'SendMessage')).toEqual([]);
    expect(health.check('sqs').ok).toBe(true);
    await queue.close();
  }, 30_000);

  it('SendMessage on the DLQ refused: tried once, said once, then every dead letter is left to the redrive policy', async () => {
    const t = await behind(({ name, dlqName }) => ({ [name]: ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes'], [dlqName]: ['GetQueueUrl'] }));
    const queue = await t.open();
    expect(queue.maxReceiveCount).toBe(MAX_RECEIVES);
    await admin.send(new SendMessageCommand({ QueueUrl: t.queueUrl, MessageBody: 'b' }));
    expect(await deadLetterUntilMoved(queue, t.dlqUrl)).toBe(MAX_RECEIVES);
    expect(t.proxy.calls.filter((c) => c.action === 'SendMessage' && c.queue === t.dlqName)).toHaveLength(1);
    expect(t.missing().map((l) => `${l.permission} ${l.queue}`)).toEqual([`sqs:SendMessage ${t.dlqName}`]);
    expect(t.missing()[0]!.msg).toMatch(/left to the queue's redrive policy/);
    expect(await dlqLetters(t.dlqUrl)).toEqual([['b', null]]); // moved by SQS, not sent by us
  }, 30_000);

  it('GetQueueUrl refused: the DLQ\'s URL is made from the queue\'s, and dead-lettering sends there with the reason', async () => {
    const t = await behind(({ name, dlqName }) => ({ [name]: ['ReceiveMessage', 'DeleteMessage', 'ChangeMessageVisibility', 'GetQueueAttributes', 'SendMessage'], [dlqName]: ['SendMessage', 'ReceiveMessage'] }));
    const queue = await t.open();
    await queue.send('c');
    const [m] = await queue.receive({ max: 1, waitSeconds: 2 });
    await queue.deadLetter(m!, 'bad input');
    // Peeked by the operators' side (its own refusals unlogged here: the queue's are the point).
    const letters = await SqsDeadLetters.open({ client: t.client, queueUrl: t.queueUrl });
    expect((await letters.peekDeadLetters(10)).map((l) => [l.body, l.reason])).toEqual([['c', 'bad input']]);
    expect(t.missing().map((l) => `${l.permission} ${l.queue}`)).toEqual([`sqs:GetQueueUrl ${t.dlqName}`]);
  });

  it('upstream\'s stereo task role (no ChangeMessageVisibility, leaseOptional): extend rejects with the refusal, asked once; release leaves the message; said once as a warning; /health up', async () => {
    const t = await behind(({ name }) => ({ [name]: ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'] }), { leaseOptional: true });
    const health = new DependencyHealth();
    const queue = await watched(SqsQueue, 'sqs', health).open({ client: t.client, queueUrl: t.queueUrl, logger: pino({ level: 'debug' }, { write: (s: string) => void t.lines.push(JSON.parse(s) as Line) }), leaseOptional: true }).then((q) => watched(q, 'sqs', health));
    await admin.send(new SendMessageCommand({ QueueUrl: t.queueUrl, MessageBody: 'm' }));
    const [m] = await queue.receive({ max: 1, waitSeconds: 2, visibilitySeconds: 2 });
    await expect(queue.extend(m!, 60)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(queue.extend(m!, 60)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(queue.release(m!, 30)).resolves.toBeUndefined();
    expect(t.proxy.calls.filter((c) => c.action === 'ChangeMessageVisibility')).toHaveLength(1);
    // (GetQueueUrl on the DLQ is not in this policy either: the DLQ's URL is made from the queue's.)
    const lease = t.missing().filter((l) => l.permission === 'sqs:ChangeMessageVisibility');
    expect(lease.map((l) => [l.level, l.required])).toEqual([[40, false]]);
    expect(lease[0]!.msg).toMatch(/the queue's visibility timeout is the lease/);
    // It comes back when the visibility it was received with ends, not 30 s later.
    const [back] = await queue.receive({ max: 1, waitSeconds: 5 });
    expect(back?.receiveCount).toBe(2);
    await queue.ack(back!);
    expect(health.check('sqs').ok).toBe(true);
    await queue.close();
  }, 20_000);

  it('upstream\'s stereo task role counts its queue but not the DLQ: the depth keeps the queue\'s counts, the DLQ\'s null, and the DLQ is asked once', async () => {
    const t = await behind(({ name }) => ({ [name]: ['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'] }), { leaseOptional: true });
    const queue = await t.open();
    await admin.send(new SendMessageCommand({ QueueUrl: t.queueUrl, MessageBody: 'waiting' }));
    expect(await queue.depth()).toEqual({ visible: 1, inflight: 0, dlq: null });
    expect(await queue.depth()).toEqual({ visible: 1, inflight: 0, dlq: null });
    expect(t.proxy.calls.filter((c) => c.action === 'GetQueueAttributes' && c.queue === t.dlqName)).toHaveLength(1);
    await queue.close();
  }, 20_000);

  it('the operator\'s DLQ calls say the refusal instead of "no DLQ"', async () => {
    const t = await behind(({ name }) => jetsonPolicy(name));
    const letters = await SqsDeadLetters.open({ client: t.client, queueUrl: t.queueUrl, logger: pino({ level: 'silent' }) });
    await expect(letters.peekDeadLetters(10)).rejects.toThrow(/not authorized to perform: sqs:GetQueueAttributes/);
    await expect(letters.purgeDeadLetters()).rejects.toThrow(/not authorized/);
    await expect(letters.depth()).rejects.toThrow(/not authorized/);
    await expect(letters.redrive()).rejects.toThrow(/not authorized/);
  });

  it('ReceiveMessage refused (a permission the worker cannot do without): named once as an error, backed off, not a tight loop', async () => {
    const t = await behind(({ name }) => ({ [name]: ['GetQueueAttributes'] }));
    const queue = new SqsQueue({ client: t.client, queueUrl: t.queueUrl, logger: pino({ level: 'debug' }, { write: (s: string) => void t.lines.push(JSON.parse(s) as Line) }), credentialBackoffMs: 300 });
    for (const until = Date.now() + 1000; Date.now() < until;) expect(await queue.receive({ max: 1, waitSeconds: 0 })).toEqual([]);
    expect(t.proxy.calls.filter((c) => c.action === 'ReceiveMessage').length).toBeLessThanOrEqual(5);
    expect(t.missing().map((l) => [l.level, l.permission])).toEqual([[50, 'sqs:ReceiveMessage']]);
    expect(t.lines.filter((l) => l.msg === 'sqs_credentials_error')).toEqual([]);
  });

  it('credentials the service refuses still reject the open, as refused credentials', async () => {
    const t = await behind(({ name }) => jetsonPolicy(name));
    t.client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('The security token included in the request is invalid.'), { name: 'InvalidClientTokenId', $fault: 'client', $metadata: { httpStatusCode: 403 } });
      },
      { step: 'finalizeRequest', name: 'badKey' },
    );
    const err = await t.open().then(() => null, (e: unknown) => e);
    expect(isRefusedCredential(err)).toBe(true);
    expect(t.missing()).toEqual([]);
  });
});

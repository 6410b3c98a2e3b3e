import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { pino } from 'pino';
import { SqsQueue } from '../../src/adapters/queue/sqs.js';
import { LeaseLostError } from '../../src/ports/index.js';
import type { QueueMessage } from '../../src/ports/index.js';
import { awsTestClientConfig, startFauxqs } from '../helpers/servers.js';
import type { LocalServer } from '../helpers/servers.js';
import { describeQueueConformance } from './queue.conformance.js';
import { SqsDeadLetters } from '../../src/adapters/queue/sqs-dead-letters.js';

const VISIBILITY = 1;
const MAX_RECEIVES = 3;

let server: LocalServer;
let client: SQSClient;

beforeAll(async () => {
  server = await startFauxqs();
  client = new SQSClient(awsTestClientConfig(server.endpoint));
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

/** A fresh main queue (and DLQ with a RedrivePolicy unless `dlq: false`) on fauxqs. */
async function createQueues(opts: { dlq?: boolean } = {}): Promise<{ queueUrl: string; dlqUrl?: string }> {
  const base = `q-${randomUUID().slice(0, 8)}`;
  const attributes: Record<string, string> = { VisibilityTimeout: String(VISIBILITY) };
  let dlqUrl: string | undefined;
  if (opts.dlq !== false) {
    dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: `${base}-dlq` }))).QueueUrl;
    const arn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: MAX_RECEIVES });
  }
  const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: base, Attributes: attributes }))).QueueUrl;
  if (!queueUrl) throw new Error('fauxqs returned no queue URL');
  return { queueUrl, dlqUrl };
}

/** A client that counts the commands it sends (the initialize step runs once per send). */
function countingClient(extra: ConstructorParameters<typeof SQSClient>[0] = {}): { client: SQSClient; calls: string[] } {
  const calls: string[] = [];
  const c = new SQSClient({ ...awsTestClientConfig(server.endpoint), ...extra });
  c.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { client: c, calls };
}

function captureLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) });
  return { logger, lines };
}

describeQueueConformance(
  'SQS (fauxqs)',
  async () => {
    const { queueUrl } = await createQueues();
    const queue = await SqsQueue.open({ client, queueUrl });
    return {
      queue,
      deadLetters: await SqsDeadLetters.open({ client, queueUrl }),
      sendRaw: async (body) => {
        await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      },
      teardown: () => queue.close(),
    };
  },
  { visibilitySeconds: VISIBILITY, maxReceiveCount: MAX_RECEIVES },
);

describe('SqsQueue specifics (fauxqs)', () => {
  it('reads maxReceiveCount and the DLQ from the RedrivePolicy; without one, null and no dead-lettering', async () => {
    const withDlq = await SqsQueue.open({ client, queueUrl: (await createQueues()).queueUrl });
    expect(withDlq.maxReceiveCount).toBe(MAX_RECEIVES);
    const { queueUrl } = await createQueues({ dlq: false });
    const plain = await SqsQueue.open({ client, queueUrl });
    expect(plain.name).toBe(queueUrl.slice(queueUrl.lastIndexOf('/') + 1));
    expect(plain.maxReceiveCount).toBeNull();
    const plainLetters = await SqsDeadLetters.open({ client, queueUrl });
    expect(await plainLetters.peekDeadLetters(10)).toEqual([]);
    expect(await plainLetters.purgeDeadLetters()).toBe(0);
    expect((await plainLetters.depth()).dlq).toBeNull();
    await plain.send('x');
    const [m] = await plain.receive({ max: 1, waitSeconds: 2 });
    await expect(plain.deadLetter(m!, 'bad')).rejects.toThrow(/no dead-letter queue/);
    await plain.ack(m!);
  });

  it('one receive call with max > 10 returns more than 10 messages, in parallel ReceiveMessage calls', async () => {
    const { queueUrl } = await createQueues();
    for (let i = 0; i < 25; i += 10) {
      const entries = Array.from({ length: Math.min(10, 25 - i) }, (_, j) => ({ Id: `e${i + j}`, MessageBody: `b${i + j}` }));
      await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    }
    const counted = countingClient();
    const queue = new SqsQueue({ client: counted.client, queueUrl });
    const got = await queue.receive({ max: 25, waitSeconds: 2 });
    expect(got).toHaveLength(25);
    expect(new Set(got.map((m) => m.body)).size).toBe(25);
    expect(counted.calls.filter((c) => c === 'ReceiveMessageCommand')).toHaveLength(3);
    counted.client.destroy();
  });

  it('a receive with max > 10 on an empty queue returns as soon as one message arrives', async () => {
    const { queueUrl } = await createQueues();
    const queue = new SqsQueue({ client, queueUrl });
    const started = Date.now();
    const polling = queue.receive({ max: 30, waitSeconds: 10 });
    setTimeout(() => void queue.send('one'), 300);
    expect((await polling).map((m) => m.body)).toEqual(['one']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a credentials error on receive is logged once and backed off, not retried in a tight loop', async () => {
    const { queueUrl } = await createQueues();
    let providerCalls = 0;
    const counted = countingClient({
      credentials: async () => {
        providerCalls++;
        throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      },
    });
    const { logger, lines } = captureLogger();
    const queue = new SqsQueue({ client: counted.client, queueUrl, logger, credentialBackoffMs: 300 });
    const until = Date.now() + 1200;
    let loops = 0;
    while (Date.now() < until) {
      expect(await queue.receive({ max: 10, waitSeconds: 0 })).toEqual([]);
      loops++;
    }
    // 1.2 s at a 300 ms backoff: about 4 rounds; a tight loop would make hundreds.
    expect(loops).toBeGreaterThanOrEqual(2);
    expect(loops).toBeLessThanOrEqual(6);
    expect(counted.calls.length).toBeLessThanOrEqual(6);
    expect(providerCalls).toBeGreaterThanOrEqual(1);
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(['sqs_credentials_error']);
    counted.client.destroy();
  });

  it('a service-side credentials error (InvalidClientTokenId) backs off too, abortably, and recovery is logged', async () => {
    const { queueUrl } = await createQueues();
    let broken = true;
    const counted = countingClient();
    counted.client.middlewareStack.add(
      (next) => async (args) => {
        if (broken) throw Object.assign(new Error('The security token included in the request is invalid.'), { name: 'InvalidClientTokenId', $fault: 'client' });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'brokenCredentials' },
    );
    const { logger, lines } = captureLogger();
    const queue = new SqsQueue({ client: counted.client, queueUrl, logger, credentialBackoffMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const started = Date.now();
    expect(await queue.receive({ max: 10, waitSeconds: 0, signal: ac.signal })).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000); // the 10 s backoff ended with the abort
    broken = false;
    await queue.send('ok');
    expect((await queue.receive({ max: 10, waitSeconds: 2 })).map((m) => m.body)).toEqual(['ok']);
    expect(lines.map((l) => l.msg)).toEqual(['sqs_credentials_error', 'sqs_credentials_recovered']);
    counted.client.destroy();
  });

  it('other receive errors are thrown, not swallowed', async () => {
    const queue = new SqsQueue({ client, queueUrl: `${server.endpoint}/000000000000/does-not-exist` });
    await expect(queue.receive({ max: 1, waitSeconds: 0 })).rejects.toThrow();
  });

  it('ack with a bogus receipt: fauxqs accepts it silently (AWS would reject it); extend maps to LeaseLostError', async () => {
    const { queueUrl } = await createQueues();
    const queue = new SqsQueue({ client, queueUrl });
    const bogus: QueueMessage = { id: 'nope', body: '', receiveCount: 1, receipt: 'not-a-receipt-handle' };
    await expect(queue.ack(bogus)).resolves.toBeUndefined(); // fauxqs quirk (PLATFORM.md)
    await expect(queue.extend(bogus, 10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(queue.release(bogus)).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('ack maps an AWS ReceiptHandleIsInvalid error to LeaseLostError', async () => {
    const { queueUrl } = await createQueues();
    const counted = countingClient();
    counted.client.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error('The input receipt handle "x" is not a valid receipt handle.'), { name: 'ReceiptHandleIsInvalid', $fault: 'client' });
      },
      { step: 'finalizeRequest', name: 'awsLikeDelete' },
    );
    const queue = new SqsQueue({ client: counted.client, queueUrl });
    await expect(queue.ack({ id: 'x', body: '', receiveCount: 1, receipt: 'x' })).rejects.toBeInstanceOf(LeaseLostError);
    counted.client.destroy();
  });

  it('deadLetter with a stale receipt throws LeaseLostError and copies nothing', async () => {
    const { queueUrl } = await createQueues();
    const queue = await SqsQueue.open({ client, queueUrl });
    await queue.send('twice');
    const [old] = await queue.receive({ max: 1, waitSeconds: 2 });
    await new Promise((r) => setTimeout(r, VISIBILITY * 1000 + 200));
    const [fresh] = await queue.receive({ max: 1, waitSeconds: 3 });
    expect(fresh?.receiveCount).toBe(2);
    await expect(queue.deadLetter(old!, 'late')).rejects.toBeInstanceOf(LeaseLostError);
    expect(await (await SqsDeadLetters.open({ client, queueUrl })).peekDeadLetters(10)).toEqual([]);
    await queue.ack(fresh!);
  });

  it('letters moved by the RedrivePolicy have no reason; peeking more than 10 sees them all without consuming', async () => {
    const { queueUrl } = await createQueues();
    const queue = await SqsQueue.open({ client, queueUrl });
    for (let i = 0; i < 12; i++) await queue.send(`p${i}`);
    // Each receive hands out ≤ 10; release at once until every message passed maxReceiveCount.
    for (let round = 0; round < 20; round++) {
      const got = await queue.receive({ max: 20, waitSeconds: 0 });
      for (const m of got) await queue.release(m);
      if (got.length === 0 && round > MAX_RECEIVES) break;
    }
    const dlq = await SqsDeadLetters.open({ client, queueUrl });
    const letters = await dlq.peekDeadLetters(20);
    expect(letters.map((l) => l.body).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `p${i}`).sort());
    expect(letters.every((l) => l.reason === null)).toBe(true);
    expect(await dlq.peekDeadLetters(20)).toHaveLength(12);
    expect(await dlq.redrive()).toBe(12);
    const back = await queue.receive({ max: 20, waitSeconds: 2 });
    expect(back).toHaveLength(12);
    expect(back.every((m) => m.receiveCount === 1)).toBe(true); // new messages: the count starts again
  });
});

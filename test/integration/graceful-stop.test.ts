// SIGTERM with jobs in flight, in a real process on real SQS (fauxqs): polling stops at
// once, the jobs get the grace, then they are aborted and their messages are visible again
// at once (not after the visibility timeout), none acked, none lost; the process exits 0.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let fauxqs: LocalServer;
let sqs: SQSClient;

beforeAll(async () => {
  fauxqs = await startFauxqs();
  const { endpoint, region, credentials } = awsTestClientConfig(fauxqs.endpoint);
  sqs = new SQSClient({ endpoint, region, credentials });
});
afterAll(async () => {
  sqs.destroy();
  await fauxqs.stop();
});

describe('graceful stop of a real worker process', () => {
  it('releases in-flight messages within a second of the grace expiring, none lost or acked', async () => {
    // A 300 s visibility timeout: a message seen again within seconds was released, not expired.
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'graceful', Attributes: { VisibilityTimeout: '300' } }));
    await sqs.send(new SendMessageBatchCommand({
      QueueUrl, Entries: Array.from({ length: 5 }, (_, i) => ({ Id: String(i), MessageBody: JSON.stringify({ job_id: `job-${i}` }) })),
    }));
    const proc = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/fixtures/engine/worker.ts')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', AWS_ENDPOINT_URL: fauxqs.endpoint, QUEUE_URL: QueueUrl!, GRACE_SECONDS: '1', CONCURRENCY: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: Array<Record<string, unknown>> = [];
    let started = 0;
    const allStarted = new Promise<void>((resolve) => {
      let buf = '';
      proc.stdout.setEncoding('utf8').on('data', (c: string) => {
        buf += c;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const e = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          events.push(e);
          if (e.event_type === 'job_started' && ++started === 5) resolve();
        }
      });
    });
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => proc.on('exit', (code) => resolve({ code, at: performance.now() })));
    await allStarted;

    const signalledAt = performance.now();
    proc.kill('SIGTERM');
    const { code, at } = await exited;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // The grace (1 s) was given: the jobs were not dropped at the signal.
    expect(at - signalledAt).toBeGreaterThanOrEqual(900);

    const seen = new Set<string>();
    const deadline = performance.now() + 1000;
    while (seen.size < 5 && performance.now() < deadline) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
      for (const m of r.Messages ?? []) seen.add(m.Body!);
    }
    expect([...seen].sort()).toEqual(Array.from({ length: 5 }, (_, i) => JSON.stringify({ job_id: `job-${i}` })));
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible)).toBe(5); // the 5 we just took: nothing else, nothing acked
    const types = events.map((e) => e.event_type);
    expect(types).toContain('shutdown_grace_expired');
    expect(types).not.toContain('job_succeeded');
  }, 30_000);
});

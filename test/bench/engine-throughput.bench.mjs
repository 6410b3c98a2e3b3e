// No-op message throughput of rugbyworker's consumer engine against sqs-consumer, on the
// same fauxqs SQS, side by side in one run (alternating trials). Each trial seeds a fresh
// queue with BENCH_MESSAGES messages and times until every one is handled and deleted.
// sqs-consumer handles one receive batch (≤ 10) at a time; the engine keeps
// BENCH_CONCURRENCY messages in flight. Goal (issue 3): engine ≥ 1.5× sqs-consumer.
import { register } from 'tsx/esm/api';

register();
const { performance } = await import('node:perf_hooks');
const { SQSClient, CreateQueueCommand, SendMessageBatchCommand, DeleteQueueCommand } = await import('@aws-sdk/client-sqs');
const { Consumer } = await import('sqs-consumer');
const { pino } = await import('pino');
const { z } = await import('zod');
const { startFauxqs, awsTestClientConfig } = await import('../helpers/servers.ts');
const { SqsQueue } = await import('../../src/adapters/queue/sqs.ts');
const { createConsumer } = await import('../../src/runtime/consumer.ts');
const { Metrics } = await import('../../src/runtime/metrics.ts');

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const GOAL = 1.5;

const fauxqs = await startFauxqs();
const { endpoint, region, credentials } = awsTestClientConfig(fauxqs.endpoint);
const sqs = new SQSClient({ endpoint, region, credentials });
let n = 0;

async function seededQueue() {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-${process.pid}-${n++}`, Attributes: { VisibilityTimeout: '60' } }));
  const batches = [];
  for (let i = 0; i < MESSAGES; i += 10) {
    batches.push(Array.from({ length: Math.min(10, MESSAGES - i) }, (_, j) => ({ Id: String(j), MessageBody: JSON.stringify({ job_id: `job-${i + j}` }) })));
  }
  for (let i = 0; i < batches.length; i += 20) {
    await Promise.all(batches.slice(i, i + 20).map((Entries) => sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }))));
  }
  return QueueUrl;
}

async function runSqsConsumer(queueUrl) {
  let handled = 0;
  const started = performance.now();
  await new Promise((resolve, reject) => {
    const consumer = Consumer.create({ queueUrl, sqs, batchSize: 10, waitTimeSeconds: 1, pollingWaitTimeMs: 0, handleMessage: async (m) => m });
    consumer.on('message_processed', () => { if (++handled === MESSAGES) { consumer.stop(); resolve(); } });
    consumer.on('error', reject);
    consumer.start();
  });
  return performance.now() - started;
}

async function runEngine(queueUrl) {
  const queue = new SqsQueue({ client: sqs, queueUrl });
  let acked = 0;
  let resolveAll;
  const all = new Promise((r) => { resolveAll = r; });
  const ack = queue.ack.bind(queue);
  queue.ack = async (msg) => { await ack(msg); if (++acked === MESSAGES) resolveAll(); };
  const stopping = new AbortController();
  const started = performance.now();
  const consumer = createConsumer({
    role: 'bench', queue, schema: z.object({ job_id: z.string() }), handler: async () => {},
    concurrency: CONCURRENCY, waitSeconds: 1, logger: pino({ level: 'silent' }),
    metrics: new Metrics({ instanceId: 'bench', defaultMetrics: false }), stopping: stopping.signal,
    jobIdOf: (j) => j.job_id,
  });
  await all;
  const ms = performance.now() - started;
  stopping.abort();
  await consumer.stop(new AbortController().signal);
  return ms;
}

const results = { engine: [], 'sqs-consumer': [] };
console.log(`engine-throughput: ${MESSAGES} no-op messages per trial, ${TRIALS} alternating trials each, fauxqs ${fauxqs.endpoint}`);
for (let t = 0; t < TRIALS; t++) {
  for (const name of t % 2 === 0 ? ['engine', 'sqs-consumer'] : ['sqs-consumer', 'engine']) {
    const url = await seededQueue();
    const ms = name === 'engine' ? await runEngine(url) : await runSqsConsumer(url);
    results[name].push(MESSAGES / (ms / 1000));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    process.stdout.write('.');
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const e = median(results.engine);
const s = median(results['sqs-consumer']);
console.log('\n');
console.log(`${'msgs/s (median)'.padEnd(28)}${'engine'.padStart(12)}${'sqs-consumer'.padStart(14)}${'ratio'.padStart(10)}${'goal'.padStart(8)}`);
console.log(`${`concurrency ${CONCURRENCY} vs batch 10`.padEnd(28)}${e.toFixed(0).padStart(12)}${s.toFixed(0).padStart(14)}${`${(e / s).toFixed(2)}x`.padStart(10)}${`>=${GOAL}x`.padStart(8)}  ${e / s >= GOAL ? 'PASS' : 'MISS'}`);
sqs.destroy();
await fauxqs.stop();

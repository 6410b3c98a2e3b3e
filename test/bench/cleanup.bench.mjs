// One pending media_cleanup_jobs row whose asset folder holds BENCH_CLEANUP_OBJECTS
// (default 20 000) objects in fauxqs S3, in one run, alternating trials, the folder
// repopulated and a fresh row seeded before each. The row has the live columns only and
// names its bucket (there is no bucket setting); it lives in the PostgREST stand-in on a
// real PostgreSQL (PostgreSQL 15 server binaries needed; without them the bench says so
// and exits 0). Both loops read the pending rows and mark the row through the same
// MediaDb (src/adapters/db/supabase.ts, supabase-js), so they differ only in the deleting:
//   role — the cleanup role itself (roles/cleanup, one --once pass on RolePorts whose
//          storage({ media: row.bucket }) is S3ObjectStore on the bench's client): listing
//          runs on while CLEANUP_DELETE_CONCURRENCY (default 4) DeleteObjects calls of ≤1000
//          keys are in flight, then one listing to confirm; its time includes start-up,
//          the GET of the pending rows and the PATCH that marks it;
//   seed — the seed's loop on the same rows: list a page (1000 keys), delete that page,
//          list the next, then mark the row.
// fauxqs runs in its own process so the server does not share this event loop.
// Two scenarios:
//   loopback — fauxqs as it is. Its deletes cost nothing (a Map delete) and its listing
//              sorts the bucket on every page, so both loops are bound by one server CPU
//              and overlapping calls cannot win much on this 2-core machine.
//   modeled  — the same calls with the latency of a remote S3 added in the SDK client
//              (middleware, identical for both loops): every request waits
//              BENCH_CLEANUP_REQUEST_MS (default 50: S3's usual 100–200 ms first byte is
//              more), and DeleteObjects BENCH_CLEANUP_DELETE_MS_PER_KEY per key (default
//              1 ms, 1 s per 1000 keys; reports of bulk deletes on S3 show several seconds
//              per 1000-key call).
// Goal (issue 5): role ≥ 3× seed in objects deleted per second.
import { register } from 'tsx/esm/api';

register();
const { spawn } = await import('node:child_process');
const { once } = await import('node:events');
const { createInterface } = await import('node:readline');
const { dirname } = await import('node:path');
const { fileURLToPath } = await import('node:url');
const { performance } = await import('node:perf_hooks');
const { setTimeout: sleep } = await import('node:timers/promises');
const { randomUUID } = await import('node:crypto');
const { CreateBucketCommand, PutObjectCommand, DeleteObjectsCommand, paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
const { pino } = await import('pino');
const { S3ObjectStore, createS3Client } = await import('../../src/adapters/storage/s3.ts');
const { productionPorts } = await import('../../src/wiring/production-ports.ts');
const { loadConfig } = await import('../../src/runtime/config/load.ts');
const { Metrics } = await import('../../src/runtime/metrics.ts');
const { roleDefinition } = await import('../../roles/index.ts');
const { postgresSkipReason, startPostgrestStandin } = await import('../helpers/postgrest-standin.ts');

const skip = postgresSkipReason();
if (skip) {
  console.log(`cleanup bench skipped: ${skip}`);
  process.exit(0);
}

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const OBJECTS = Number(process.env.BENCH_CLEANUP_OBJECTS ?? 20_000);
const TRIALS = Number(process.env.BENCH_CLEANUP_TRIALS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CLEANUP_CONCURRENCY ?? 4);
const REQUEST_MS = Number(process.env.BENCH_CLEANUP_REQUEST_MS ?? 50);
const DELETE_MS_PER_KEY = Number(process.env.BENCH_CLEANUP_DELETE_MS_PER_KEY ?? 1);
const GOAL = 3;
const BUCKET = 'bench-media';
const PREFIX = 'orgs/0d5c8a3e-1111-4a1b-9c1d-000000000001/uploads/0d5c8a3e-2222-4a1b-9c1d-000000000002/';
const SERVICE_KEY = 'service-role-key-for-cleanup-bench';

/** fauxqs in a child process on a loopback port; resolves its endpoint and a stop(). */
async function startFauxqsProcess() {
  const script = `
    import { buildApp } from 'fauxqs';
    const app = buildApp({ logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write(app.server.address().port + '\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { port: Number(line), stop: () => { child.kill('SIGTERM'); return once(child, 'exit'); } };
}

const [fauxqs, standin] = await Promise.all([startFauxqsProcess(), startPostgrestStandin({ apiKey: SERVICE_KEY })]);
const clientOptions = { endpoint: `http://127.0.0.1:${fauxqs.port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, forcePathStyle: true };

/** A client for one run; `modeled` adds a remote S3's latency to every call it makes. */
function benchClient(modeled) {
  const client = createS3Client(clientOptions);
  if (modeled) {
    client.middlewareStack.add((next, context) => async (args) => {
      const keys = context.commandName === 'DeleteObjectsCommand' ? args.input.Delete.Objects.length : 0;
      await sleep(REQUEST_MS + keys * DELETE_MS_PER_KEY);
      return next(args);
    }, { step: 'initialize', name: 'benchLatencyModel' });
  }
  return client;
}
const admin = createS3Client(clientOptions);
await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));

// The worker's environment: no bucket setting, the Supabase of the stand-in.
const config = loadConfig({
  env: {
    AWS_ENDPOINT_URL: clientOptions.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
    SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY, CLEANUP_DELETE_CONCURRENCY: String(CONCURRENCY),
  },
});
const quiet = pino({ level: 'silent' });
const dbPorts = productionPorts(config, quiet);
const db = dbPorts.mediaDb();

/** The folder as the transcode role leaves it, scaled up: raw, streaming/index.m3u8, the storyboard, four renditions of segments. */
function folderKeys() {
  const keys = [`${PREFIX}raw/match.mp4`, `${PREFIX}streaming/index.m3u8`, `${PREFIX}streaming/thumbnails/storyboard_000.jpg`, `${PREFIX}streaming/thumbnails/storyboard.vtt`];
  const renditions = ['1080p', '720p', '480p', '360p'];
  for (let i = 0; keys.length < OBJECTS; i++) {
    keys.push(`${PREFIX}streaming/${renditions[i % 4]}/seg_${String(Math.floor(i / 4)).padStart(6, '0')}.ts`);
  }
  return keys;
}

async function populate(keys) {
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

/** A pending row for the folder, with the live columns only: it names its bucket. */
async function seedRow() {
  const id = randomUUID();
  await standin.seed('media_cleanup_jobs', { id, media_asset_id: PREFIX.split('/')[3], bucket: BUCKET, storage_path: `${PREFIX}raw/match.mp4` });
  return id;
}

/** The seed's loop: the pending rows; per row one page listed, that page deleted, the next page; the row marked. */
async function seedLoop(client) {
  let deleted = 0;
  for (const job of await db.pendingCleanupJobs()) {
    const prefix = job.storagePath.split('/').slice(0, -2).join('/') + '/';
    for await (const page of paginateListObjectsV2({ client }, { Bucket: job.bucket, Prefix: prefix })) {
      const objects = (page.Contents ?? []).map((o) => ({ Key: o.Key }));
      if (objects.length === 0) continue;
      const out = await client.send(new DeleteObjectsCommand({ Bucket: job.bucket, Delete: { Objects: objects, Quiet: true } }));
      deleted += objects.length - (out.Errors?.length ?? 0);
    }
    await db.markCleanupProcessed(job.id);
  }
  return deleted;
}

/** One --once pass of the cleanup role; its stores use the bench's client, its MediaDb the stand-in. */
async function role(client) {
  const events = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line) => void events.push(JSON.parse(line)) });
  const ports = {
    queue: () => { throw new Error('the cleanup role uses no queue'); },
    mediaDb: () => db,
    storage: (bucket) => {
      if (typeof bucket === 'string') throw new Error(`the cleanup role asked for the bucket setting ${bucket}`);
      return new S3ObjectStore({ client, bucket: bucket.media });
    },
  };
  const stopping = new AbortController();
  const service = await roleDefinition('cleanup').start({
    config, instanceId: 'bench-cleanup', logger, metrics: new Metrics({ instanceId: 'bench-cleanup', defaultMetrics: false }),
    stopping: stopping.signal, concurrency: 1, once: true, dryRun: false, ports,
  });
  await service.done;
  stopping.abort();
  await service.stop(new AbortController().signal); // the pass is done: nothing to wait for
  const completed = events.filter((e) => e.event_type === 'cleanup_job_completed');
  if (service.exitCode() !== 0 || completed.length !== 1) {
    throw new Error(`the role's pass did not complete its row: ${JSON.stringify(events.filter((e) => e.event_type?.startsWith('cleanup_job') || e.level >= 50).slice(0, 3))}`);
  }
  return completed[0].objects;
}

async function remaining(client) {
  let n = 0;
  for await (const page of paginateListObjectsV2({ client }, { Bucket: BUCKET, Prefix: PREFIX })) n += page.Contents?.length ?? 0;
  return n;
}

const keys = folderKeys();
const scenarios = [
  { name: 'loopback', modeled: false, label: `${OBJECTS} objects, loopback` },
  { name: 'modeled', modeled: true, label: `${OBJECTS} objects, +${REQUEST_MS} ms/req +${DELETE_MS_PER_KEY} ms/key del` },
];
// supabase-js loads on the first query: not inside the first trial.
await db.pendingCleanupJobs();
const results = Object.fromEntries(scenarios.map((s) => [s.name, { role: [], seed: [] }]));
console.log(`cleanup: one row, ${OBJECTS} objects in its folder, ${TRIALS} alternating trials each, delete concurrency ${CONCURRENCY}, fauxqs in its own process, rows on PostgreSQL`);
try {
  for (const scenario of scenarios) {
    process.stdout.write(`${scenario.name}: `);
    for (let t = 0; t < TRIALS; t++) {
      for (const name of t % 2 === 0 ? ['role', 'seed'] : ['seed', 'role']) {
        await populate(keys);
        const id = await seedRow();
        // A fresh client per run: no warm sockets carried over from populating.
        const client = benchClient(scenario.modeled);
        const started = performance.now();
        const deleted = name === 'role' ? await role(client) : await seedLoop(client);
        const ms = performance.now() - started;
        client.destroy();
        const left = await remaining(admin);
        const row = await standin.row('media_cleanup_jobs', id);
        if (deleted !== OBJECTS || left !== 0) throw new Error(`${name}: deleted ${deleted} of ${OBJECTS}, ${left} left`);
        if (!row?.processed_at || row.error !== null) throw new Error(`${name}: row not marked processed: ${JSON.stringify(row)}`);
        results[scenario.name][name].push(OBJECTS / (ms / 1000));
        process.stdout.write(`${name} ${(ms / 1000).toFixed(2)} s  `);
      }
    }
    process.stdout.write('\n');
  }
} finally {
  admin.destroy();
  await dbPorts.close();
  await Promise.all([fauxqs.stop(), standin.stop()]);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log('');
console.log(`${'objects deleted/s (median)'.padEnd(46)}${'role'.padStart(10)}${'seed loop'.padStart(12)}${'ratio'.padStart(10)}${'goal'.padStart(8)}`);
for (const scenario of scenarios) {
  const role = median(results[scenario.name].role);
  const seed = median(results[scenario.name].seed);
  console.log(`${scenario.label.padEnd(46)}${role.toFixed(0).padStart(10)}${seed.toFixed(0).padStart(12)}${`${(role / seed).toFixed(2)}x`.padStart(10)}${`>=${GOAL}x`.padStart(8)}  ${role / seed >= GOAL ? 'PASS' : 'MISS'}`);
}

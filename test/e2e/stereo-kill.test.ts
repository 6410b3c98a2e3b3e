// kill -9 of a stereo worker (issue 9, "Tests"): mid-chunk and mid-reassembly, the job still
// completes once, picked up again after the message's lease runs out — no trigger reconciler
// running, so the healing is the redelivery's own. FFMPEG_PATH is a wrapper that stops at a
// gate before the split (`-f segment`) or the join (`-f concat`); the test kills the worker
// and the gated FFmpeg with SIGKILL, as a container's death would, then starts another.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { spawnExe, waitForExit } from '../helpers/binary.js';
import { INPUT, OUTPUT, s3Event, startStereoWorld, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';

const VISIBILITY = 4;
let w: StereoWorld;
let clip: string;
let wrapper: string;
let gates: string;

beforeAll(async () => {
  w = await startStereoWorld();
  clip = join(w.tmp, 'clip.mp4');
  gates = join(w.tmp, 'gates');
  wrapper = join(w.tmp, 'ffmpeg-gated');
  await w.makeClip(clip, 7);
  // Waits while $GATES/<step> exists, having written its pid to $GATES/<step>.reached.
  await writeFile(wrapper, `#!/bin/sh
step=
for a in "$@"; do case "$a" in segment) step=split;; concat) step=join;; esac; done
if [ -n "$step" ] && [ -e "${gates}/$step" ]; then
  echo $$ > "${gates}/$step.reached"
  while [ -e "${gates}/$step" ]; do sleep 0.05; done
fi
exec ${w.bins.ffmpeg} "$@"
`);
  await chmod(wrapper, 0o755);
  await mkdir(gates);
}, 60_000);

afterAll(async () => {
  await w?.stop();
});

interface Worker { child: ChildProcess; log(): string; events(type: string): Array<Record<string, unknown>> }

function startWorker(roles: string, env: Record<string, string>): Worker {
  const child = spawnExe(['--role', roles], { env });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
  return {
    child,
    log: () => stdout,
    events: (type) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.event_type === type),
  };
}

/** SIGKILL to the worker and to the FFmpeg wrapper it left at the gate. */
async function killHard(worker: Worker, step: string): Promise<void> {
  const pid = Number((await readFile(join(gates, `${step}.reached`), 'utf8')).trim());
  worker.child.kill('SIGKILL');
  process.kill(pid, 'SIGKILL');
  expect(await waitForExit(worker.child, 10_000)).toBe('SIGKILL');
}

describe('kill -9 of a stereo worker', () => {
  it('mid-chunk and mid-reassembly: the job completes once after the visibility timeout', async () => {
    const [chunking, videoWorker, reassembly] = await Promise.all([
      w.createQueue('kill-chunking', VISIBILITY, 5), w.createQueue('kill-video-worker', VISIBILITY, 5), w.createQueue('kill-reassembly', VISIBILITY, 5),
    ]);
    const jobId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: now } }));
    const source = await readFile(clip);
    await w.putObject(INPUT, `input/${jobId}/source.mp4`, source);
    await w.send(chunking.url, s3Event(INPUT, `input/${jobId}/source.mp4`, source.length));

    const env = (work: string): Record<string, string> => w.workerEnv({ chunking: chunking.url, videoWorker: videoWorker.url, reassembly: reassembly.url }, {
      CHUNK_SEGMENT_DURATION_SEC: '2', HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: String(VISIBILITY),
      FFMPEG_PATH: wrapper, FFPROBE_PATH: w.bins.ffprobe, WORK_DIR: join(w.tmp, work), SHUTDOWN_GRACE_SECONDS: '5',
    });
    const emulator = w.notifySegments(videoWorker.url);
    const workers: Worker[] = [];
    const diag = (): string => workers.map((x, i) => `--- worker ${i} ---\n${x.log().split('\n').slice(-25).join('\n')}`).join('\n');
    try {
      // 1. Killed mid-chunk: the job is chunking_in_progress, the split under way.
      await writeFile(join(gates, 'split'), '');
      const a = startWorker('chunk', env('work-a'));
      workers.push(a);
      await until('the split reached', 20_000, async () => existsSync(join(gates, 'split.reached')) || undefined, diag);
      expect((await w.getJob(jobId))?.status).toBe('chunking_in_progress');
      await killHard(a, 'split');
      await rm(join(gates, 'split'));
      const killedAt = Date.now();

      // 2. A second worker takes the chunking message once its lease lapses, and is killed mid-join.
      await writeFile(join(gates, 'join'), '');
      const b = startWorker('chunk,segment-infer,reassemble', env('work-b'));
      workers.push(b);
      await until('the join reached', 40_000, async () => existsSync(join(gates, 'join.reached')) || undefined, diag);
      const chunkedAfter = (Date.now() - killedAt) / 1000;
      const lock = (await w.ddb.send(new GetCommand({ TableName: w.tables.reassemblyTriggered, Key: { job_id: jobId }, ConsistentRead: true }))).Item;
      expect(lock?.reassembly_started_at).toEqual(expect.any(Number));
      await killHard(b, 'join');
      await rm(join(gates, 'join'));

      // 3. A third worker: the reassembly message comes back after its lease and takes the stale lock over.
      const c = startWorker('reassemble', env('work-c'));
      workers.push(c);
      await until('the job completed', 40_000, async () => (await w.getJob(jobId))?.status === 'completed' || undefined, diag);

      const total = (await w.getJob(jobId))!.total_segments as number;
      expect(total).toBeGreaterThanOrEqual(3);
      // Chunked once (by b), each segment converted, one reassembly to the end (c's).
      expect(a.events('chunking_completed')).toHaveLength(0);
      expect(b.events('chunking_completed')).toHaveLength(1);
      expect(b.events('reassembly_completed')).toHaveLength(0);
      expect(c.events('reassembly_taken_over')).toHaveLength(1);
      expect(c.events('reassembly_completed')).toHaveLength(1);
      const completions = (await w.ddb.send(new QueryCommand({
        TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId }, ConsistentRead: true,
      }))).Items ?? [];
      expect(completions.map((x) => x.segment_index)).toEqual([...Array(total).keys()]);
      const finalFile = join(w.tmp, 'final.mp4');
      await writeFile(finalFile, await (await w.s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${jobId}/final.mp4` }))).Body!.transformToByteArray());
      expect((await w.probeVideo(finalFile)).frames).toBe((await w.probeVideo(clip)).frames);
      // Picked up again by the lease, not by a long table-sized timeout.
      expect(chunkedAfter).toBeLessThan(30);
      await until('the queues empty', 15_000, async () => (await Promise.all([chunking.url, videoWorker.url, reassembly.url].map((u) => w.depth(u)))).every((n) => n === 0) || undefined, diag);
      for (const q of [chunking, videoWorker, reassembly]) expect([q.dlq, await w.depth(q.dlq)]).toEqual([q.dlq, 0]);
    } finally {
      await emulator.stop();
      for (const x of workers) if (x.child.exitCode === null && x.child.signalCode === null) x.child.kill('SIGTERM');
      await Promise.all(workers.map((x) => waitForExit(x.child, 15_000)));
    }
  }, 150_000);
});

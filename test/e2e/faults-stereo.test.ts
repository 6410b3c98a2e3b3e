// Faults on the stereo pipeline, on the shipped executable, against the stereo world
// (test/helpers/stereo-world.ts: fauxqs for SQS + S3, dynalite for the three tables).
// (Each dependency down for 30 s mid-job: faults-outage-stereo.test.ts.)
// A SIGKILL soak: 50 segment events (5 jobs × 10 segments, the jobs chunking_in_progress
//    so no reassembly follows) on the video-worker queue, a segment-infer worker with
//    --concurrency 4 killed with SIGKILL every 0.5–2 s and started again until the queue
//    drains. On an at-least-once queue "exactly once" is about the final state: every
//    segment's output object and its one SegmentCompletion item there, none missing, no
//    extra item, no job failed; a segment redone after a kill rewrites the same object and
//    the same item (allowed: idempotent), and the test counts and prints how many were.
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there, for looking into a failure.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { waitForExit } from '../helpers/binary.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';
import { proxyEndpoint } from '../helpers/fault-proxy.js';
import { INPUT, OUTPUT, s3Event, startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';

let w: StereoWorld;
const table: string[] = [];

beforeAll(async () => {
  w = await startStereoWorld();
}, 60_000);

afterAll(async () => {
  await w?.stop();
  if (table.length) process.stdout.write(`\nfaults-stereo:\n| scenario | jobs | lost | re-processed | time to recover |\n|---|---|---|---|---|\n${table.join('\n')}\n`);
});

type Worker = WorkerProcess;

const startWorker = (args: string[], env: Record<string, string>, name: string, waitForHealth = true): Promise<Worker> =>
  startWorkerProcess(args, env, name, { waitForHealth });


async function completionsOf(jobId: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await w.ddb.send(new QueryCommand({
      TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId }, ConsistentRead: true, ExclusiveStartKey: start,
    }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start);
  return out;
}

async function queuesIdle(qs: QueuePair[]): Promise<Array<[string, number, number]>> {
  return Promise.all(qs.map(async (q) => [q.url, await w.depth(q.url), await w.depth(q.dlq)] as [string, number, number]));
}

const pad = (n: number): string => String(n).padStart(5, '0');

describe('faults during the stereo pipeline', () => {
  it('SIGKILL soak: 50 segments with a --concurrency 4 worker killed every 0.5–2 s: every final state once, nothing lost, queues empty, no work files', async () => {
    const VISIBILITY = 3;
    // Each SIGKILL with a segment in flight costs that message a receive; at this cadence a
    // message can be received 7+ times, and at 10 an unlucky one reached SQS's redrive (a
    // 100 ms-latency trial run): dead-lettered by the queue, not lost by the worker.
    const MAX_RECEIVES = 20;
    const JOBS = 5;
    const PER_JOB = 10;
    const [chunking, videoWorker, reassembly] = await Promise.all([
      w.createQueue('fs-kill-chunking', VISIBILITY, MAX_RECEIVES), w.createQueue('fs-kill-video-worker', VISIBILITY, MAX_RECEIVES), w.createQueue('fs-kill-reassembly', VISIBILITY, MAX_RECEIVES),
    ]);
    // Ten 1 s segments of a 10 s clip, as the chunker makes them.
    const segDir = join(w.tmp, 'soak-segments');
    await mkdir(segDir);
    const soakClip = join(w.tmp, 'soak.mp4');
    await w.makeClip(soakClip, PER_JOB);
    await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', soakClip, '-map', '0', '-c', 'copy', '-f', 'segment',
      '-segment_time', '1', '-reset_timestamps', '1', join(segDir, 'seg_%05d.mp4')]);
    const segFiles = (await readdir(segDir)).sort();
    expect(segFiles).toHaveLength(PER_JOB);
    const bodies = await Promise.all(segFiles.map((f) => readFile(join(segDir, f))));

    // The jobs mid-chunking (chunking_in_progress): segments are processed, no reassembly follows.
    const now = Math.floor(Date.now() / 1000);
    const jobs = [...Array(JOBS).keys()].map(() => randomUUID());
    const events: string[] = [];
    for (const jobId of jobs) {
      await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'chunking_in_progress', created_at: now } }));
      for (let i = 0; i < PER_JOB; i++) {
        const key = `segments/${jobId}/${pad(i)}_${pad(PER_JOB)}_sbs.mp4`;
        await w.putObject(INPUT, key, bodies[i]!);
        events.push(s3Event(INPUT, key, bodies[i]!.length));
      }
    }
    for (const body of events) await w.send(videoWorker.url, body);
    const N = events.length;

    // S3 behind a 40 ms-per-chunk proxy: a segment takes long enough (copy, check) that a
    // worker's 0.5–2 s life ends with segments in flight, not after the whole queue.
    const s3Slow = await proxyEndpoint(w.fauxqs.endpoint, { mode: { kind: 'latency', ms: 40 } });
    const workDir = join(w.tmp, 'work-soak');
    const env = w.workerEnv({ chunking: chunking.url, videoWorker: videoWorker.url, reassembly: reassembly.url }, {
      AWS_ENDPOINT_URL_S3: s3Slow.endpoint, HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: String(VISIBILITY), WORK_DIR: workDir, SHUTDOWN_GRACE_SECONDS: '10', LOG_LEVEL: 'info',
    });
    const workers: Worker[] = [];
    const started = Date.now();
    const CAP_MS = 90_000;
    let kills = 0;
    let lastKill = started;
    let finalWorker: Worker | undefined;
    try {
      // Killed and restarted until the queue has drained: nothing visible, nothing in flight.
      while (Date.now() - started < CAP_MS) {
        if ((await w.depth(videoWorker.url)) === 0) break;
        const x = await startWorker(['--role', 'segment-infer', '--concurrency', '4'], env, `soak-${workers.length}`, false);
        workers.push(x);
        await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
        if (x.child.exitCode === null && x.child.signalCode === null) {
          x.child.kill('SIGKILL');
          kills++;
          lastKill = Date.now();
        }
        const code = await waitForExit(x.child, 10_000);
        // Nothing but our SIGKILL ends a worker here (a crash would exit by itself).
        expect([`soak-${workers.length - 1}`, code]).toEqual([`soak-${workers.length - 1}`, 'SIGKILL']);
      }
      const drainedAfter = (Date.now() - started) / 1000;
      // The last worker, stopped cleanly: anything still to do done, then SIGTERM → 0.
      finalWorker = await startWorker(['--role', 'segment-infer', '--concurrency', '4'], env, 'soak-final');
      workers.push(finalWorker);
      await until('the video-worker queue empty', 30_000, async () => (await w.depth(videoWorker.url)) === 0 || undefined,
        () => `last events: ${finalWorker!.events.slice(-10).map((e) => JSON.stringify(e)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 1_000));
      const recoveredAfter = (Date.now() - started) / 1000;
      const sinceLastKill = (Date.now() - lastKill) / 1000;
      finalWorker.child.kill('SIGTERM');
      const finalExit = await waitForExit(finalWorker.child, 30_000);

      // The numbers first (printed even when an assertion below fails).
      const perJob = await Promise.all(jobs.map((j) => completionsOf(j)));
      const missing = N - perJob.reduce((n, c) => n + c.length, 0);
      const dead = await w.drain(videoWorker.dlq);
      const all = workers.flatMap((x) => x.events);
      const completedLines = all.filter((e) => e.event_type === 'segment_completed');
      const perSegment = new Map<string, number>();
      for (const e of completedLines) perSegment.set(`${e.job_id}/${e.segment_index}`, (perSegment.get(`${e.job_id}/${e.segment_index}`) ?? 0) + 1);
      const logged = perSegment.size;
      const redone = [...perSegment.values()].reduce((n, c) => n + c - 1, 0);
      const inferences = all.filter((e) => e.event_type === 'inference_started').length;
      const maxReceive = Math.max(0, ...all.filter((e) => e.event_type === 'job_started').map((e) => Number(e.receive_count)));
      table.push(`| SIGKILL soak (${kills} kills, ${workers.length} workers) | ${N} segments | ${missing} (${dead.length} dead-lettered) | ${redone} segments completed twice+, ${inferences - N} extra inferences, max receive ${maxReceive} | drained ${drainedAfter.toFixed(1)} s, all done ${recoveredAfter.toFixed(1)} s, ${sinceLastKill.toFixed(1)} s after the last kill |`);
      process.stdout.write(`faults-stereo soak: kills ${kills}, workers ${workers.length}, inferences ${inferences}, completed lines ${completedLines.length} (${logged} distinct), redone ${redone}, max receive ${maxReceive}, missing ${missing}, dead ${JSON.stringify(dead.map(([b, r]) => [JSON.parse(b).Records?.[0]?.s3?.object?.key, r]))}, drained ${drainedAfter.toFixed(1)} s\n`);

      expect(finalExit).toBe(0);
      expect(finalWorker.stderr()).toBe('');
      // Every final state there, once: one completion item per segment, its output object, the same bytes.
      for (const [n, jobId] of jobs.entries()) {
        const completions = perJob[n]!;
        expect([jobId, completions.map((c) => c.segment_index)]).toEqual([jobId, [...Array(PER_JOB).keys()]]);
        for (const c of completions) {
          expect(c).toEqual({ job_id: jobId, segment_index: c.segment_index, total_segments: PER_JOB,
            output_s3_uri: `s3://${OUTPUT}/jobs/${jobId}/segments/${c.segment_index as number}.mp4`, completed_at: expect.any(Number) });
        }
        const outs = await w.listKeys(OUTPUT, `jobs/${jobId}/`);
        expect(outs.map((o) => o.key)).toEqual([...Array(PER_JOB).keys()].map((i) => `jobs/${jobId}/segments/${i}.mp4`).sort());
        for (const o of outs) {
          const i = Number(/segments\/(\d+)\.mp4$/.exec(o.key)![1]);
          expect([o.key, o.size]).toEqual([o.key, bodies[i]!.length]);
        }
        // Still mid-chunking: no kill made a segment fail its job.
        expect([jobId, (await w.getJob(jobId))?.status]).toEqual([jobId, 'chunking_in_progress']);
      }
      expect(missing).toBe(0);
      expect(dead).toEqual([]);
      expect(await queuesIdle([chunking, videoWorker, reassembly])).toEqual([chunking, videoWorker, reassembly].map((q) => [q.url, 0, 0]));
      // segment-infer with the stub copies server-side: a work directory, if one was made, left empty.
      expect(existsSync(workDir) ? await readdir(workDir, { recursive: true }) : []).toEqual([]);
      // No job failed; the soak really killed workers with segments in flight.
      expect(all.filter((e) => e.event_type === 'job_failed' || e.event_type === 'segment_failed')).toEqual([]);
      expect(kills).toBeGreaterThanOrEqual(2);
      expect(inferences).toBeGreaterThan(N);
      // A completion put before a kill may have lost its log line, never its item: logged ≤ N.
      expect(logged).toBeLessThanOrEqual(N);
    } finally {
      for (const x of workers) if (x.child.exitCode === null && x.child.signalCode === null) x.child.kill('SIGKILL');
      await Promise.all(workers.map((x) => waitForExit(x.child, 15_000).catch(() => undefined)));
      await s3Slow.close();
    }
  }, 200_000);
});

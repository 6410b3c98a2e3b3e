// Hostile input to the stereo pipeline (issue 20, items 4 and 6), on the built executable
// against the stereo world (fauxqs for SQS + S3, dynalite for the three tables), one worker
// running chunk, segment-infer and reassemble:
// - a segment event naming a foreign bucket that really holds an object at that key is
//   dead-lettered with the reason, and nothing reaches the output bucket or the tables
//   (beside it, a good event of the input bucket is converted, so the worker was working);
// - chunk refuses a source over a limit (an 8K+ picture at the default MAX_SOURCE_PIXELS; a
//   clip that would make more than MAX_SEGMENTS_PER_JOB segments): job failed, message acked,
//   no segment uploaded;
// - reassemble fails a job of more than MAX_SEGMENTS_PER_JOB segments at once, and counts
//   the frames of a job's segments with at most REASSEMBLY_PROBE_CONCURRENCY ffprobe at once
//   (a stand-in ffprobe records when each run starts and ends).
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startWorkerProcess, type LogEvent, type WorkerProcess } from '../helpers/worker-process.js';
import { INPUT, NINETY_DAYS, OUTPUT, s3Event, startStereoWorld, type QueuePair, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';

const FOREIGN = 'private-backups';
const MAX_SEGMENTS = 8;
const PROBES = 2;

let w: StereoWorld;
let worker: WorkerProcess;
let queues: { chunking: QueuePair; videoWorker: QueuePair; reassembly: QueuePair };
/** The stand-in ffprobe's log: "start|end <pid> <ns>" per frame count. */
let probeLog: string;

beforeAll(async () => {
  w = await startStereoWorld();
  await w.s3.send(new CreateBucketCommand({ Bucket: FOREIGN }));
  const [chunking, videoWorker, reassembly] = await Promise.all([
    w.createQueue('hostile-chunking', 10, 3), w.createQueue('hostile-video-worker', 10, 3), w.createQueue('hostile-reassembly', 10, 3),
  ]);
  queues = { chunking, videoWorker, reassembly };
  // ffprobe as the worker starts it (its environment is stripped, so the paths are written in);
  // each frame count held 0.4 s so that runs started together overlap.
  probeLog = join(w.tmp, 'ffprobe.log');
  const standIn = join(w.tmp, 'ffprobe');
  await writeFile(standIn, [
    '#!/bin/sh',
    'case " $* " in *" -count_packets "*) ;; *) exec ' + `'${w.bins.ffprobe}'` + ' "$@" ;; esac',
    `echo "start $$ $(date +%s%N)" >> '${probeLog}'`,
    `'${w.bins.ffprobe}' "$@"; rc=$?`,
    'sleep 0.4',
    `echo "end $$ $(date +%s%N)" >> '${probeLog}'`,
    'exit $rc',
    '',
  ].join('\n'));
  await chmod(standIn, 0o755);
  worker = await startWorkerProcess(['--role', 'chunk,segment-infer,reassemble'], w.workerEnv(
    { chunking: chunking.url, videoWorker: videoWorker.url, reassembly: reassembly.url },
    {
      FFPROBE_PATH: standIn, CHUNK_SEGMENT_DURATION_SEC: '1', MAX_SEGMENTS_PER_JOB: String(MAX_SEGMENTS), REASSEMBLY_PROBE_CONCURRENCY: String(PROBES),
      HEARTBEAT_INTERVAL_SECONDS: '3', HEARTBEAT_EXTENSION_SECONDS: '10', WORK_DIR: join(w.tmp, 'work'),
    },
  ), 'hostile');
}, 90_000);

afterAll(async () => {
  if (worker) expect(await worker.stop()).toBe(0);
  await w?.stop();
});

const now = (): number => Math.floor(Date.now() / 1000);
const putJob = (jobId: string, status: string, totalSegments?: number) => w.ddb.send(new PutCommand({
  TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status, created_at: now(), ...(totalSegments === undefined ? {} : { total_segments: totalSegments }) },
}));
const of = (type: string, jobId: string): LogEvent[] => worker.events.filter((e) => e.event_type === type && e.job_id === jobId);
const completions = async (jobId: string) => (await w.ddb.send(new QueryCommand({
  TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': jobId }, ConsistentRead: true,
}))).Items ?? [];
const idle = async (q: QueuePair): Promise<[number, number]> => [await w.depth(q.url), await w.depth(q.dlq)];

describe('stereo pipeline against hostile input', () => {
  it('segment-infer dead-letters a segment event naming a foreign bucket, with the reason, and copies nothing', async () => {
    const clip = join(w.tmp, 'seg.mp4');
    await w.makeClip(clip, 1);
    const body = await readFile(clip);
    const foreignJob = randomUUID();
    const goodJob = randomUUID();
    const foreignKey = `segments/${foreignJob}/00000_00001_sbs.mp4`;
    const goodKey = `segments/${goodJob}/00000_00001_sbs.mp4`;
    // The foreign bucket really has the object, and its job exists: only the bucket check stands between.
    await w.putObject(FOREIGN, foreignKey, body);
    await w.putObject(INPUT, goodKey, body);
    await putJob(foreignJob, 'chunking_in_progress');
    await putJob(goodJob, 'chunking_in_progress');
    const foreignEvent = s3Event(FOREIGN, foreignKey, body.length);
    await w.send(queues.videoWorker.url, foreignEvent);
    await w.send(queues.videoWorker.url, s3Event(INPUT, goodKey, body.length));

    await worker.waitFor((e) => e.event_type === 'segment_completed' && e.job_id === goodJob, 30_000);
    await until('the video-worker queue empty', 20_000, async () => (await w.depth(queues.videoWorker.url)) === 0);
    expect(await w.drain(queues.videoWorker.dlq)).toEqual([[foreignEvent,
      `invalid message: Records[0].s3.bucket.name "${FOREIGN}" is not INPUT_BUCKET_NAME ("${INPUT}"): this queue takes events of that bucket only`]]);
    expect(worker.events.filter((e) => e.event_type === 'message_invalid')).toEqual([expect.objectContaining({ reason: expect.stringContaining(`"${FOREIGN}" is not INPUT_BUCKET_NAME`) })]);
    // Nothing of the foreign job anywhere: no output object, no completion, no line of its job, the job untouched.
    expect(await w.listKeys(OUTPUT, `jobs/${foreignJob}/`)).toEqual([]);
    expect(await completions(foreignJob)).toEqual([]);
    expect(worker.events.filter((e) => e.job_id === foreignJob)).toEqual([]);
    expect((await w.getJob(foreignJob))?.status).toBe('chunking_in_progress');
    // The good one went through.
    expect((await w.listKeys(OUTPUT, `jobs/${goodJob}/`)).map((o) => o.key)).toEqual([`jobs/${goodJob}/segments/0.mp4`]);
  }, 60_000);

  it('chunk fails a source over the default 8K picture and one over MAX_SEGMENTS_PER_JOB: acked, no segment made', async () => {
    const big = join(w.tmp, 'big.mp4'); // one gray 8192x4320 frame: 100 kB that ask for 35 Mpx a frame
    await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-f', 'lavfi', '-i', 'color=c=gray:size=8192x4320:rate=30', '-frames:v', '1',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-y', big]);
    const long = join(w.tmp, 'long.mp4'); // 10 s in 1 s segments: 10 > 8
    await w.makeClip(long, MAX_SEGMENTS + 2);
    const cases = [
      { jobId: randomUUID(), file: big, reason: 'source is 8192x4320 (35.4 Mpx), over MAX_SOURCE_PIXELS 33177600' },
      { jobId: randomUUID(), file: long, reason: `at CHUNK_SEGMENT_DURATION_SEC 1 the source would make ${MAX_SEGMENTS + 2} segments, over MAX_SEGMENTS_PER_JOB ${MAX_SEGMENTS}` },
    ];
    for (const c of cases) {
      await putJob(c.jobId, 'created');
      const body = await readFile(c.file);
      await w.putObject(INPUT, `input/${c.jobId}/source.mp4`, body);
      await w.send(queues.chunking.url, s3Event(INPUT, `input/${c.jobId}/source.mp4`, body.length));
    }
    for (const c of cases) {
      const failed = await worker.waitFor((e) => e.event_type === 'chunking_failed' && e.job_id === c.jobId, 30_000);
      expect(failed.error_message).toBe(`input/${c.jobId}/source.mp4: ${c.reason}`);
      expect((await w.getJob(c.jobId))?.status).toBe('failed');
      expect(await w.listKeys(INPUT, `segments/${c.jobId}/`)).toEqual([]);
      expect(of('job_started', c.jobId)).toHaveLength(1); // never retried
    }
    await until('the chunking queue empty', 20_000, async () => (await w.depth(queues.chunking.url)) === 0);
    expect(await idle(queues.chunking)).toEqual([0, 0]);
  }, 60_000);

  it(`reassemble fails a job of more than MAX_SEGMENTS_PER_JOB segments, and counts frames with at most ${PROBES} ffprobe at once`, async () => {
    // Six 1 s segment outputs, as segment-infer's stub leaves them.
    const clip = join(w.tmp, 'six.mp4');
    await w.makeClip(clip, 6);
    const parts = join(w.tmp, 'six');
    await mkdir(parts);
    await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-map', '0', '-c', 'copy', '-f', 'segment', '-segment_time', '1', '-reset_timestamps', '1', join(parts, 'seg_%02d.mp4')]);
    const files = (await readdir(parts)).sort();
    expect(files).toHaveLength(6);
    const job = randomUUID();
    await putJob(job, 'chunking_complete', files.length);
    for (const [i, f] of files.entries()) {
      await w.putObject(OUTPUT, `jobs/${job}/segments/${i}.mp4`, await readFile(join(parts, f)));
      await w.ddb.send(new PutCommand({ TableName: w.tables.segmentCompletions, Item: {
        job_id: job, segment_index: i, output_s3_uri: `s3://${OUTPUT}/jobs/${job}/segments/${i}.mp4`, completed_at: now(), total_segments: files.length,
      } }));
    }
    // The lock the trigger writes before it sends the message; reassembly takes it.
    await w.ddb.send(new PutCommand({ TableName: w.tables.reassemblyTriggered, Item: { job_id: job, triggered_at: now(), ttl: now() + NINETY_DAYS } }));
    const tooMany = randomUUID();
    await putJob(tooMany, 'chunking_complete', MAX_SEGMENTS + 1);
    await w.send(queues.reassembly.url, JSON.stringify({ job_id: tooMany }));
    await w.send(queues.reassembly.url, JSON.stringify({ job_id: job }));

    const failed = await worker.waitFor((e) => e.event_type === 'reassembly_failed' && e.job_id === tooMany, 30_000);
    expect(failed.error_message).toBe(`job has ${MAX_SEGMENTS + 1} segments, over MAX_SEGMENTS_PER_JOB ${MAX_SEGMENTS}`);
    expect((await w.getJob(tooMany))?.status).toBe('failed');

    await worker.waitFor((e) => e.event_type === 'reassembly_completed' && e.job_id === job, 60_000);
    expect((await w.getJob(job))?.status).toBe('completed');
    await until('the reassembly queue empty', 20_000, async () => (await w.depth(queues.reassembly.url)) === 0);
    expect(await idle(queues.reassembly)).toEqual([0, 0]);
    expect(of('job_started', tooMany)).toHaveLength(1);

    // The frame counts of the six parts, then of final.mp4: never more than PROBES at once, and PROBES reached.
    const lines = (await readFile(probeLog, 'utf8')).trim().split('\n').map((l) => l.split(' '));
    const marks = lines.map(([kind, , ns]) => ({ at: BigInt(ns!), step: kind === 'start' ? 1 : -1 }))
      .sort((a, b) => (a.at === b.at ? a.step - b.step : a.at < b.at ? -1 : 1));
    let running = 0;
    let peak = 0;
    for (const m of marks) peak = Math.max(peak, (running += m.step));
    expect(lines.filter(([kind]) => kind === 'start')).toHaveLength(files.length + 1);
    expect(peak).toBe(PROBES);
  }, 90_000);
});

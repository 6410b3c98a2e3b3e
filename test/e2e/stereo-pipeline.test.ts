// The stereo pipeline end to end on the built executable (issue 9, "Tests"): one process
// running `--role chunk,segment-infer,reassemble,trigger` with the stub backend against
// fauxqs (SQS + S3) and dynalite (the three tables as upstream's Terraform defines them).
// fauxqs sends no S3 notifications, so the test plays S3's part: an upload of
// input/{job_id}/source.mp4 sends the ObjectCreated event to the chunking queue, and while
// the worker runs the test lists segments/… in the input bucket and sends one event per new
// object to the video-worker queue, exactly the JSON S3 sends (URL-encoded keys).
//
// One run takes: two good jobs (sbs, anaglyph) to completed; a corrupt source (job failed,
// message acked); a source without a Jobs item (retried, dead-lettered, no item made); the
// segment keys upstream's parser rejects (dead-lettered with the reason); the
// s3:TestEvent on both S3-fed queues (acked, nothing done); upstream's lost-job cases 1–4
// left in the tables for the trigger reconciler to heal; and, once the first job is
// completed, its chunking event, a segment event and its reassembly message delivered
// again (no second work), a segment of the failed job and reassembly bodies that are not
// {"job_id"}. Then SIGTERM → exit 0. STEREO_E2E_LOG=file keeps the worker's log.
// Every upstream-rejected segment key goes to the video-worker queue too, and the per-role
// metrics are read back at the end. Kill -9 is test/e2e/stereo-kill.test.ts; the Lambda zip,
// test/e2e/lambda-zip.test.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { spawnExe, waitForExit } from '../helpers/binary.js';
import { freePort } from '../helpers/servers.js';
import { INPUT, NINETY_DAYS, OUTPUT, s3Event, startStereoWorld, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';
import { UPSTREAM_REJECTED_SEGMENT_KEYS } from '../fixtures/stereo/rejected-segment-keys.js';

const SEGMENT_SECONDS = 2;
const MAX_RECEIVES = 3;

let w: StereoWorld;
let clip: string;

type LogEvent = Record<string, unknown> & { event_type?: string; job_id?: string; role?: string };

beforeAll(async () => {
  w = await startStereoWorld();
  clip = join(w.tmp, 'clip.mp4');
  // ~7 s with audio; a keyframe every second so the 2 s cuts land on time.
  await w.makeClip(clip, 7);
}, 60_000);

afterAll(async () => {
  await w?.stop();
});

// Steps of one run over a shared world: each `it` acts on what the earlier ones left; a failed
// step leaves the later ones to say what else went wrong.
describe('stereo pipeline on the built executable', () => {
  const started = Date.now();
  const now = Math.floor(Date.now() / 1000);
  // The second id has a slash, a space and a plus (STEREO-SPOT.md: it may contain '/'): its keys
  // reach the queues URL-encoded ("take+2%2B1"), as S3 sends them.
  const good = [{ jobId: randomUUID(), mode: 'sbs' }, { jobId: `${randomUUID()}/take 2+1`, mode: 'anaglyph' }];
  const corrupt = { jobId: randomUUID(), mode: 'sbs' };
  const orphan = randomUUID(); // a source without a Jobs item
  // Upstream's lost-job cases (STEREO-SPOT.md), left as they would be found, for the trigger
  // reconciler to heal: (1) chunking_complete recorded after the last completion, no lock;
  // (2) a lock whose reassembly message was never sent (untaken past the grace); (3) a lock
  // taken by a reassembly that died long ago, no final.mp4; (4) completions over 1 MB, two
  // Query pages (upstream counted one). Their segment outputs are the source's first segment.
  const lost = [
    { lostCase: 1, jobId: randomUUID(), total: 1, lock: undefined },
    { lostCase: 2, jobId: randomUUID(), total: 1, lock: { triggered_at: now - 120, ttl: now - 120 + NINETY_DAYS } },
    { lostCase: 3, jobId: randomUUID(), total: 1, lock: { triggered_at: now - 4000, ttl: now - 4000 + NINETY_DAYS, reassembly_started_at: now - 3990 } },
    { lostCase: 4, jobId: randomUUID(), total: 6, lock: undefined, padding: 'x'.repeat(300 * 1024) },
  ];
  const badBodies = ['not json', '{"job_id":""}', '{"jobId":"x"}'];
  const goodEvents = new Map<string, string>();
  let queues: Record<'chunking' | 'videoWorker' | 'reassembly', { url: string; dlq: string }>;
  let expectedTotal: number;
  let source: Awaited<ReturnType<StereoWorld['probeVideo']>>;
  let seg0Probe: Awaited<ReturnType<StereoWorld['probeVideo']>>;
  let badSegments: Array<{ body: string; reason: RegExp }>;
  let segmentsBefore: number;
  let port: number;
  let child: ChildProcess;
  let stdout = '';
  let stderr = '';
  let emulator: { stop(): Promise<void> };
  const events = (): LogEvent[] => stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogEvent);
  const of = (type: string, jobId?: string): LogEvent[] => events().filter((e) => e.event_type === type && (jobId === undefined || e.job_id === jobId));
  const diag = (): string => `stderr: ${stderr.slice(-2000)}\nstdout tail:\n${stdout.split('\n').slice(-40).join('\n')}`;

  beforeAll(async () => {
    const [chunking, videoWorker, reassembly] = await Promise.all([
      w.createQueue('stereo-spot-chunking', 10, MAX_RECEIVES), w.createQueue('stereo-spot-video-worker', 10, MAX_RECEIVES), w.createQueue('stereo-spot-reassembly', 10, MAX_RECEIVES),
    ]);
    queues = { chunking, videoWorker, reassembly };

    // What FFmpeg's segment muxer makes of the source.
    const expectedDir = join(w.tmp, 'expected');
    await mkdir(expectedDir);
    await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-map', '0', '-c', 'copy', '-f', 'segment',
      '-segment_time', String(SEGMENT_SECONDS), '-reset_timestamps', '1', join(expectedDir, 'seg_%05d.mp4')]);
    expectedTotal = (await readdir(expectedDir)).length;
    expect(expectedTotal).toBeGreaterThanOrEqual(3);
    source = await w.probeVideo(clip);

    // The Jobs items as the web UI creates them.
    for (const j of [...good, corrupt]) {
      await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: j.jobId, mode: j.mode, status: 'created', created_at: now } }));
    }
    const seg0 = join(expectedDir, 'seg_00000.mp4');
    const seg0Bytes = await readFile(seg0);
    seg0Probe = await w.probeVideo(seg0);
    for (const l of lost) {
      await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: l.jobId, mode: 'sbs', status: 'chunking_complete', created_at: now, total_segments: l.total } }));
      for (let i = 0; i < l.total; i++) {
        await w.putObject(OUTPUT, `jobs/${l.jobId}/segments/${i}.mp4`, seg0Bytes);
        await w.ddb.send(new PutCommand({ TableName: w.tables.segmentCompletions, Item: {
          job_id: l.jobId, segment_index: i, output_s3_uri: `s3://${OUTPUT}/jobs/${l.jobId}/segments/${i}.mp4`, completed_at: now, total_segments: l.total,
          ...(l.padding ? { padding: l.padding } : {}),
        } }));
      }
      if (l.lock) await w.ddb.send(new PutCommand({ TableName: w.tables.reassemblyTriggered, Item: { job_id: l.jobId, ...l.lock } }));
    }
    const onePage = await w.ddb.send(new QueryCommand({ TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': lost[3]!.jobId } }));
    expect([onePage.Items?.length, onePage.LastEvaluatedKey === undefined]).toEqual([expect.any(Number), false]);
    expect(onePage.Items!.length).toBeLessThan(6);

    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: INPUT, RequestId: 'R', HostId: 'H' });
    await w.send(chunking.url, testEvent);
    await w.send(videoWorker.url, testEvent);
    // Every key upstream's parser tests reject, as S3 would send it.
    badSegments = UPSTREAM_REJECTED_SEGMENT_KEYS.map(([, key, reason]) => ({ body: s3Event(INPUT, key, 1234), reason }));
    for (const b of badSegments) await w.send(videoWorker.url, b.body);

    port = await freePort();
    const env = w.workerEnv({ chunking: chunking.url, videoWorker: videoWorker.url, reassembly: reassembly.url }, {
      CHUNK_SEGMENT_DURATION_SEC: String(SEGMENT_SECONDS), TRIGGER_INTERVAL_SECONDS: '2', HEARTBEAT_INTERVAL_SECONDS: '3', HEARTBEAT_EXTENSION_SECONDS: '10',
      WORK_DIR: join(w.tmp, 'work'), SHUTDOWN_GRACE_SECONDS: '10', HEALTH_PORT: String(port),
    });
    child = spawnExe(['--role', 'chunk,segment-infer,reassemble,trigger'], { env });
    child.stdout!.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    emulator = w.notifySegments(videoWorker.url);

    const sourceBytes = await readFile(clip);
    const uploadSource = async (id: string, body: Buffer): Promise<string> => {
      const key = `input/${id}/source.mp4`;
      await w.putObject(INPUT, key, body);
      const ev = s3Event(INPUT, key, body.length);
      await w.send(chunking.url, ev);
      return ev;
    };
    for (const j of good) goodEvents.set(j.jobId, await uploadSource(j.jobId, sourceBytes));
    await uploadSource(corrupt.jobId, randomBytes(200_000));
    await uploadSource(orphan, sourceBytes);
  }, 60_000);

  afterAll(async () => {
    if (process.env.STEREO_E2E_LOG) await writeFile(process.env.STEREO_E2E_LOG, stdout); // the worker's log, to read after a failure
    await emulator?.stop();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('takes both good jobs to completed: every item and object as STEREO-SPOT.md says', async () => {
    await until('both jobs completed', 60_000, async () => {
      const rows = await Promise.all(good.map((j) => w.getJob(j.jobId)));
      return rows.every((r) => r?.status === 'completed') || undefined;
    }, diag);
    for (const j of good) {
      const row = (await w.getJob(j.jobId))!;
      expect(row).toEqual({
        job_id: j.jobId, mode: j.mode, status: 'completed', created_at: now,
        total_segments: expectedTotal, completed_at: expect.any(Number),
      });
      expect(row.completed_at as number).toBeGreaterThanOrEqual(now);

      const completions = (await w.ddb.send(new QueryCommand({
        TableName: w.tables.segmentCompletions, KeyConditionExpression: 'job_id = :j', ExpressionAttributeValues: { ':j': j.jobId }, ConsistentRead: true,
      }))).Items ?? [];
      expect(completions.map((c) => c.segment_index)).toEqual([...Array(expectedTotal).keys()]);
      for (const c of completions) {
        expect(c).toEqual({
          job_id: j.jobId, segment_index: c.segment_index, total_segments: expectedTotal,
          output_s3_uri: `s3://${OUTPUT}/jobs/${j.jobId}/segments/${c.segment_index as number}.mp4`, completed_at: expect.any(Number),
        });
      }

      const lock = (await w.ddb.send(new GetCommand({ TableName: w.tables.reassemblyTriggered, Key: { job_id: j.jobId }, ConsistentRead: true }))).Item!;
      expect(lock).toEqual({ job_id: j.jobId, triggered_at: expect.any(Number), ttl: expect.any(Number), reassembly_started_at: expect.any(Number) });
      expect(lock.ttl).toBe((lock.triggered_at as number) + NINETY_DAYS);
      expect(lock.reassembly_started_at as number).toBeGreaterThanOrEqual(lock.triggered_at as number);

      const pad = (n: number): string => String(n).padStart(5, '0');
      const segKeys = (await w.listKeys(INPUT, `segments/${j.jobId}/`)).map((o) => o.key);
      expect(segKeys).toEqual([...Array(expectedTotal).keys()].map((i) => `segments/${j.jobId}/${pad(i)}_${pad(expectedTotal)}_${j.mode}.mp4`));
      const outKeys = (await w.listKeys(OUTPUT, `jobs/${j.jobId}/`)).map((o) => o.key);
      expect(outKeys.sort()).toEqual([`jobs/${j.jobId}/final.mp4`, ...[...Array(expectedTotal).keys()].map((i) => `jobs/${j.jobId}/segments/${i}.mp4`)].sort());
      for (const [bucket, key] of [...segKeys.map((k) => [INPUT, k]), ...outKeys.map((k) => [OUTPUT, k])] as Array<[string, string]>) {
        expect([key, (await w.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentType]).toEqual([key, 'video/mp4']);
      }

      const finalFile = join(w.tmp, `final-${good.indexOf(j)}.mp4`);
      const body = await (await w.s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${j.jobId}/final.mp4` }))).Body!.transformToByteArray();
      await writeFile(finalFile, body);
      const final = await w.probeVideo(finalFile);
      expect(final.frames).toBe(source.frames);
      expect(Math.abs(final.duration - source.duration)).toBeLessThanOrEqual(1 / source.fps + 1e-6);

      // Exactly one reassembly per job, and one chunking.
      expect(of('reassembly_triggered', j.jobId)).toHaveLength(1);
      expect(of('reassembly_completed', j.jobId)).toHaveLength(1);
      expect(of('chunking_completed', j.jobId)).toHaveLength(1);
      expect(of('segment_completed', j.jobId)).toHaveLength(expectedTotal);
      expect(of('inference_started', j.jobId)).toHaveLength(expectedTotal);
    }
  }, 70_000);

  it('heals upstream\'s lost-job cases 1–4: each reassembled once, from every segment', async () => {
    await until('the lost jobs completed', 30_000, async () => {
      const rows = await Promise.all(lost.map((l) => w.getJob(l.jobId)));
      return rows.every((r) => r?.status === 'completed') || undefined;
    }, diag);
    for (const l of lost) {
      const where = `lost-job case ${l.lostCase}`;
      expect([where, await w.getJob(l.jobId)]).toEqual([where, {
        job_id: l.jobId, mode: 'sbs', status: 'completed', created_at: now, total_segments: l.total, completed_at: expect.any(Number),
      }]);
      const finalFile = join(w.tmp, `final-lost-${l.lostCase}.mp4`);
      await writeFile(finalFile, await (await w.s3.send(new GetObjectCommand({ Bucket: OUTPUT, Key: `jobs/${l.jobId}/final.mp4` }))).Body!.transformToByteArray());
      expect([where, (await w.probeVideo(finalFile)).frames]).toEqual([where, l.total * seg0Probe.frames]);
      const lock = (await w.ddb.send(new GetCommand({ TableName: w.tables.reassemblyTriggered, Key: { job_id: l.jobId }, ConsistentRead: true }))).Item!;
      expect([where, lock]).toEqual([where, { job_id: l.jobId, triggered_at: expect.any(Number), ttl: (lock.triggered_at as number) + NINETY_DAYS, reassembly_started_at: expect.any(Number) }]);
      // A new lock (1, 3, 4) or the lost one renewed before its resend (2): triggered now, taken since.
      expect([where, (lock.triggered_at as number) >= now, (lock.reassembly_started_at as number) >= (lock.triggered_at as number)]).toEqual([where, true, true]);
      const counts = ['reassembly_triggered', 'reassembly_resent', 'reassembly_lock_reset', 'reassembly_completed'].map((t) => of(t, l.jobId).length);
      expect([where, counts]).toEqual([where, { 1: [1, 0, 0, 1], 2: [0, 1, 0, 1], 3: [1, 0, 1, 1], 4: [1, 0, 0, 1] }[l.lostCase]]);
      if (l.lostCase !== 2) expect([where, of('reassembly_triggered', l.jobId)[0]!.role]).toEqual([where, 'trigger']);
    }
  }, 40_000);

  it('fails the corrupt source once, acked, nothing made', async () => {
    await until('the corrupt job failed', 20_000, async () => (await w.getJob(corrupt.jobId))?.status === 'failed' || undefined, diag);
    expect(await w.getJob(corrupt.jobId)).toEqual({ job_id: corrupt.jobId, mode: 'sbs', status: 'failed', created_at: now });
    expect(of('chunking_failed', corrupt.jobId)).toHaveLength(1);
    expect(await w.listKeys(INPUT, `segments/${corrupt.jobId}/`)).toEqual([]);
  }, 30_000);

  it('does no work twice: redelivered chunking, segment and reassembly messages are skipped', async () => {
    const { chunking, videoWorker, reassembly } = queues;
    segmentsBefore = (await w.listKeys(INPUT, 'segments/')).length;
    await w.send(chunking.url, goodEvents.get(good[0]!.jobId)!);
    await until('the redelivered chunking event skipped', 15_000, async () => of('chunking_skipped', good[0]!.jobId).length > 0 || undefined, diag);
    // …and a segment event and a reassembly message of the completed job again, a segment of
    // the failed job, and reassembly bodies that are not {"job_id"}.
    const firstSegment = (await w.listKeys(INPUT, `segments/${good[0]!.jobId}/`))[0]!;
    await w.send(videoWorker.url, s3Event(INPUT, firstSegment.key, firstSegment.size));
    await w.send(reassembly.url, JSON.stringify({ job_id: good[0]!.jobId }));
    await w.send(videoWorker.url, s3Event(INPUT, `segments/${corrupt.jobId}/00000_00002_sbs.mp4`, 1000));
    for (const body of badBodies) await w.send(reassembly.url, body);
    await until('the redeliveries skipped', 15_000, async () => (of('segment_skipped', good[0]!.jobId).length > 0 && of('reassembly_skipped', good[0]!.jobId).length > 0
      && of('segment_skipped', corrupt.jobId).length > 0) || undefined, diag);
  }, 40_000);

  it('retries a source without a Jobs item, dead-letters it, and never makes the item', async () => {
    await until('the orphan dead-lettered', 40_000, async () => of('job_failed').some((e) => e.job_id === orphan) || undefined, diag);
    const items = (await w.ddb.send(new ScanCommand({ TableName: w.tables.jobs, ConsistentRead: true }))).Items ?? [];
    expect(items.map((i) => i.job_id).sort()).toEqual([...good.map((j) => j.jobId), corrupt.jobId, ...lost.map((l) => l.jobId)].sort());
    expect(of('job_retry').filter((e) => e.job_id === orphan)).toHaveLength(MAX_RECEIVES - 1);
  }, 50_000);

  it('goes idle: every queue empties, each dead letter carries its reason, each redelivery was skipped once', async () => {
    const { chunking, videoWorker, reassembly } = queues;
    // Two trigger passes more, then every queue is idle.
    const passes = of('trigger_pass_completed').length;
    await until('two more trigger passes', 10_000, async () => of('trigger_pass_completed').length >= passes + 2 || undefined, diag);
    await until('the main queues empty', 15_000, async () => {
      const d = await Promise.all([chunking.url, videoWorker.url, reassembly.url].map((u) => w.depth(u)));
      return d.every((n) => n === 0) || undefined;
    }, diag);
    expect((await w.listKeys(INPUT, 'segments/')).length).toBe(segmentsBefore);
    // The S3 test events: acked, nothing done.
    expect(of('s3_test_event').map((e) => e.role).sort()).toEqual(['chunk', 'segment-infer']);

    const deadChunking = await w.drain(chunking.dlq);
    expect(deadChunking).toEqual([[expect.stringContaining(`input/${orphan}/source.mp4`), expect.stringMatching(new RegExp(`failed on receive ${MAX_RECEIVES} of ${MAX_RECEIVES}: .*job ${orphan} is not in the Jobs table`))]]);
    const deadSegments = await w.drain(videoWorker.dlq);
    expect(deadSegments.map(([b]) => b).sort()).toEqual(badSegments.map((b) => b.body).sort());
    for (const b of badSegments) {
      const reason = deadSegments.find(([body]) => body === b.body)?.[1];
      expect([b.body, reason]).toEqual([b.body, expect.stringMatching(new RegExp(`^PermanentError: ".*" is not a segment key \\(stereo-spot segment key rule\\): .*${b.reason.source}`))]);
    }
    const deadReassembly = await w.drain(reassembly.dlq);
    expect(deadReassembly.map(([b]) => b).sort()).toEqual([...badBodies].sort());
    for (const [body, reason] of deadReassembly) expect([body, reason]).toEqual([body, expect.stringMatching(/^invalid message: /)]);
    expect(of('segment_skipped', good[0]!.jobId)).toHaveLength(1);
    expect(of('reassembly_skipped', good[0]!.jobId)).toHaveLength(1);
    expect(of('segment_skipped', corrupt.jobId)).toHaveLength(1);
    expect(of('message_invalid').filter((e) => e.role === 'reassemble')).toHaveLength(badBodies.length);
    for (const q of [chunking, videoWorker, reassembly]) expect([q.url, await w.depth(q.url), await w.depth(q.dlq)]).toEqual([q.url, 0, 0]);
    expect(of('trigger_failed')).toEqual([]);
  }, 40_000);

  it('logs what a runbook needs: errors only for real failures, one job_id per line, every segment line names its segment', () => {
    // Errors: the corrupt source, the orphan's last receive, and each rejected segment key.
    expect(events().filter((e) => e.severity === 'error').map((e) => e.event_type).sort())
      .toEqual(['chunking_failed', ...Array<string>(2 + badSegments.length - 1).fill('job_failed')]);
    // One job_id per line: a second (pino writes a child's bindings after its parent's) leaves parsers to pick one.
    expect(stdout.split('\n').filter((l) => (l.match(/"job_id":/g) ?? []).length > 1 || (l.match(/"segment_index":/g) ?? []).length > 1)).toEqual([]);
    // Runbook 5: one query finds a segment's lines across roles; every segment-infer line of a job names its segment.
    const segmentLines = events().filter((e) => e.role === 'segment-infer' && good.some((j) => j.jobId === e.job_id));
    expect(segmentLines.length).toBeGreaterThan(4 * expectedTotal);
    expect(segmentLines.filter((e) => typeof e.segment_index !== 'number').map((e) => e.event_type)).toEqual([]);
  });

  it('counts per role on /metrics (issue 9 §7)', async () => {
    type Json = { counters: Record<string, Record<string, number>>; durations: Record<string, { count: number; p50: number | null; p95: number | null; p99: number | null }> };
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Accept: 'application/json' } })).json() as Json;
    const lostSegments = lost.reduce((n, l) => n + l.total, 0);
    expect(m.counters.segments_total).toEqual({
      'role=chunk': 2 * expectedTotal,
      // The redelivered segment of a completed job is skipped, not converted again.
      'role=segment-infer': 2 * expectedTotal,
      'role=reassemble': 2 * expectedTotal + lostSegments,
    });
    expect(m.counters.stereo_jobs_total).toEqual({
      'role=chunk,outcome=chunked': 2, 'role=chunk,outcome=failed': 1, 'role=segment-infer,outcome=failed': 0, 'role=reassemble,outcome=completed': 2 + lost.length, 'role=reassemble,outcome=failed': 0,
    });
    const inference = m.durations.inference_seconds!;
    expect(inference.count).toBe(2 * expectedTotal);
    for (const q of [inference.p50, inference.p95, inference.p99]) expect(q).toBeGreaterThan(0);
    expect(inference.p50!).toBeLessThanOrEqual(inference.p99!);
    // Queue lag of each S3-fed and reassembly role: every message's first receive counted.
    for (const role of ['chunk', 'segment-infer', 'reassemble']) {
      const lines = of('job_started').filter((e) => e.role === role && e.receive_count === 1);
      expect([role, lines.length > 0, lines.every((e) => typeof e.queue_lag_seconds === 'number')]).toEqual([role, true, true]);
    }
    // Every first receive, a valid message (job_started) or not (message_invalid).
    expect(m.durations.queue_lag_seconds!.count).toBe([...of('job_started'), ...of('message_invalid')].filter((e) => e.receive_count === 1).length);
  });

  it('stops on SIGTERM: exit 0, nothing on stderr', async () => {
    await emulator.stop();
    child.kill('SIGTERM');
    expect(await waitForExit(child, 20_000)).toBe(0);
    expect(stderr).toBe('');
    process.stdout.write(`stereo e2e: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 30_000);
});

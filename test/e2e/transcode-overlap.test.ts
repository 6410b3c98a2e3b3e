// Issue 19's overlap on the shipped executable: FFmpeg reads the raw video through the
// worker's loopback server while the download goes on. S3 sits behind a fault proxy
// (test/helpers/fault-proxy.ts) at a club line's few MB/s; the clip's index (moov) is at the
// end, as phones write it. The encode starts before the download ends; a connection reset
// mid-download neither fails the encode nor starts a second one; a corrupt or truncated file
// still fails as INVALID_INPUT, acked, nothing published.
// FAULTS_LOG_DIR=DIR keeps each worker's log lines there, for looking into a failure.
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { VIDEO_CONTAINERS } from '../../src/domain/untrusted-media.js';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { EMPTY, SERVICE_KEY, makeClip, startRugbyCodex, type RugbyCodex, type Upload } from '../helpers/rugbycodex.js';
import { countEvents, expectTranscodedOnce, workFilesLeft } from '../helpers/transcode-checks.js';
import { startWorkerProcess, type LogEvent, type WorkerProcess } from '../helpers/worker-process.js';
import { until } from '../helpers/wait.js';

let codex: RugbyCodex;
let tmp: string;
let clip: string;
let clipBytes: number;
let s3Proxy: FaultProxy & { endpoint: string };

/** Top-level MP4 boxes in file order: [type, offset]. */
function boxes(data: Buffer): Array<[string, number]> {
  const found: Array<[string, number]> = [];
  for (let at = 0; at + 8 <= data.length;) {
    let size = data.readUInt32BE(at);
    if (size === 1) size = Number(data.readBigUInt64BE(at + 8));
    found.push([data.toString('latin1', at + 4, at + 8), at]);
    if (size < 8) break;
    at += size;
  }
  return found;
}

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-overlap-'));
  clip = join(tmp, 'phone.mp4');
  // 10 s of 720p (≈ 9 MB: 3 s on the 3 MB/s link), written without +faststart.
  [codex] = await Promise.all([startRugbyCodex(), makeClip(bins.ffmpeg, clip, 10, '1280x720')]);
  const data = await readFile(clip);
  clipBytes = data.length;
  const order = boxes(data).map(([type]) => type);
  expect(order.indexOf('moov')).toBeGreaterThan(order.indexOf('mdat')); // the index at the end, as phones write it
  s3Proxy = await proxyEndpoint(codex.fauxqs.endpoint);
}, 60_000);

afterAll(async () => {
  await s3Proxy?.close();
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Worker = WorkerProcess & { workDir: string };

async function startWorker(queueUrl: string, name: string): Promise<Worker> {
  const workDir = join(tmp, `work-${name}`);
  const env = codex.workerEnv(queueUrl, workDir, {
    AWS_ENDPOINT_URL_S3: s3Proxy.endpoint, HLS_RENDITIONS: '360', LOG_LEVEL: 'debug',
    HEARTBEAT_INTERVAL_SECONDS: '1', HEARTBEAT_EXTENSION_SECONDS: '10',
  });
  return Object.assign(await startWorkerProcess(['--role', 'transcode'], env, name), { workDir });
}

const at = (e: LogEvent): number => Date.parse(String(e.timestamp));
const ofJob = (w: Worker, type: string, u: Upload): LogEvent[] => w.events.filter((e) => e.event_type === type && e.job_id === u.job);
const segmentsUploaded = (w: Worker, u: Upload): LogEvent[] => ofJob(w, 'hls_uploaded', u).filter((e) => String(e.key).endsWith('.ts'));
const ended = (u: Upload) => (e: LogEvent): boolean => ['job_succeeded', 'job_failed', 'job_retry', 'job_lease_lost'].includes(String(e.event_type)) && e.job_id === u.job;

/** The job's FFmpeg, the one reading the loopback URL (not a start-up test encode), once it runs (setpriv execs it in place: a direct child). */
async function encoderOf(worker: number, timeoutMs = 20_000): Promise<number> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const pids = (await execa('pgrep', ['-P', String(worker)], { reject: false })).stdout.split('\n').filter(Boolean);
    for (const pid of pids) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (argv.some((a) => a.endsWith('ffmpeg')) && argv.some((a) => a.startsWith('http://127.0.0.1:'))) return Number(pid);
    }
  }
  throw new Error('no FFmpeg encoding appeared');
}

describe('transcode: the encode overlaps the download', () => {
  it('FFmpeg starts on the first bytes of a 3 MB/s download of a phone MP4, reads only the loopback URL, without our secrets; done once, output complete', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 'overlap');
    s3Proxy.set({ kind: 'bandwidth', bytesPerSecond: 3_000_000 });
    try {
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      const pid = await encoderOf(w.child.pid!);
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      const end = await w.waitFor(ended(u), 90_000);
      expect(end.event_type).toBe('job_succeeded');

      // The first segment was encoded and uploaded while the download still ran.
      const downloaded = ofJob(w, 'transcode_source_downloaded', u);
      expect(downloaded).toEqual([expect.objectContaining({ bytes: clipBytes })]);
      expect(Number(downloaded[0]!.seconds)).toBeGreaterThan(2); // the link really was slow
      const segments = segmentsUploaded(w, u);
      expect(segments.length).toBeGreaterThanOrEqual(5);
      expect(at(segments[0]!)).toBeLessThan(at(downloaded[0]!) - 500);

      // One FFmpeg run, reading the loopback URL with its protocols and demuxers restricted; no credential in its environment.
      const runs = ofJob(w, 'ffmpeg_start', u);
      expect(runs).toHaveLength(1);
      const args = runs[0]!.args as string[];
      const input = args.indexOf('-i');
      expect(args.slice(input - 4, input)).toEqual(['-protocol_whitelist', 'http,tcp', '-format_whitelist', VIDEO_CONTAINERS.join(',')]);
      expect(args[input + 1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
      expect(args.filter((a) => a.includes('X-Amz-') || a.includes(u.key))).toEqual([]);
      expect(environ.some((v) => v.startsWith('PATH='))).toBe(true);
      expect(environ.filter((v) => /^(AWS_|SUPABASE_|WASABI_)/.test(v) || v.includes(SERVICE_KEY))).toEqual([]);

      await expectTranscodedOnce(codex, w.events, u, 5);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      s3Proxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w.workDir)).toEqual([]);
  }, 120_000);

  it('a connection reset mid-download while FFmpeg encodes: the download resumes, FFmpeg only waits; one start, one encode, done once', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const u = await codex.seedUpload(clip);
    const w = await startWorker(queues.queueUrl, 'reset');
    s3Proxy.set({ kind: 'bandwidth', bytesPerSecond: 3_000_000 });
    try {
      const before = s3Proxy.stats().resets;
      s3Proxy.resetAfter(Math.floor(clipBytes * 0.6), 'down');
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      await until('the download cut', 30_000, () => s3Proxy.stats().resets > before, { everyMs: 20 });
      const resetAt = Date.now();
      const end = await w.waitFor(ended(u), 90_000);
      expect(end.event_type).toBe('job_succeeded');

      // FFmpeg was encoding when the connection was cut (a segment was up before), and the download finished after.
      expect(segmentsUploaded(w, u).filter((e) => Number(e.at_ms) < resetAt).length).toBeGreaterThanOrEqual(1);
      expect(at(ofJob(w, 'transcode_source_downloaded', u)[0]!)).toBeGreaterThan(resetAt - 1000);
      expect(countEvents(w.events, 'transcode_started', u.job)).toBe(1);
      expect(ofJob(w, 'ffmpeg_start', u)).toHaveLength(1);
      expect(ofJob(w, 'transcode_failed', u)).toEqual([]);
      expect(ofJob(w, 'hw_decode_fallback', u)).toEqual([]);
      await expectTranscodedOnce(codex, w.events, u, 5);
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    } finally {
      s3Proxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w.workDir)).toEqual([]);
  }, 120_000);

  it('a corrupt file and a truncated phone MP4 (no index) still fail as INVALID_INPUT: acked, nothing published', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 30 });
    const corrupt = join(tmp, 'corrupt.mp4');
    const truncated = join(tmp, 'truncated.mp4');
    await writeFile(corrupt, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 8)) % 251)));
    await writeFile(truncated, (await readFile(clip)).subarray(0, Math.floor(clipBytes * 0.6)));
    const uploads = [await codex.seedUpload(corrupt, { name: 'corrupt.mp4' }), await codex.seedUpload(truncated, { name: 'truncated.mp4' })];
    const w = await startWorker(queues.queueUrl, 'invalid');
    try {
      for (const u of uploads) await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: u.body }));
      for (const u of uploads) {
        await w.waitFor(ended(u), 60_000);
        expect(ofJob(w, 'transcode_failed', u)).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true })]);
        expect(ofJob(w, 'job_retry', u)).toEqual([]);
        const job = (await codex.standin.row('jobs', u.job))!;
        expect(job).toMatchObject({ state: 'failed', error_code: 'INVALID_INPUT', attempt: 1 });
        expect(String(job.error_message)).toContain(`cannot read the video: ffprobe ${u.key}`);
        expect(String(job.error_message)).not.toContain('127.0.0.1');
        expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ processing_stage: 'failed', status: 'failed', streaming_ready: false });
        const published = await codex.s3.send(new ListObjectsV2Command({ Bucket: u.bucket, Prefix: u.streaming }));
        expect(published.Contents ?? []).toEqual([]);
      }
      expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
      expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);
    } finally {
      expect(await w.stop()).toBe(0);
    }
    expect(await workFilesLeft(w.workDir)).toEqual([]);
  }, 120_000);
});

// Issue 19's overlap for the stereo pipeline's chunk role, on the shipped executable: FFmpeg's
// split reads the source through the worker's loopback server while the download goes on.
// S3 sits behind a fault proxy at a slow link's rate, and the connection is cut once mid-way:
// the split is running before the download ends, the download resumes, and the segments are
// exactly what FFmpeg's segment muxer makes of the whole file (every frame, once).
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { writeFile } from 'node:fs/promises';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { INPUT, s3Event, startStereoWorld, type StereoWorld } from '../helpers/stereo-world.js';
import { until } from '../helpers/wait.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const SEGMENT_SECONDS = 2;

let w: StereoWorld;
let s3Proxy: FaultProxy & { endpoint: string };
let clip: string;

beforeAll(async () => {
  w = await startStereoWorld();
  // The index first (+faststart), as a web upload often has it: a small file whose index is at
  // the end is only readable once it is all there (the store is asked for bytes far ahead only).
  const made = join(w.tmp, 'made.mp4');
  clip = join(w.tmp, 'clip.mp4');
  await w.makeClip(made, 8);
  await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', made, '-map', '0', '-c', 'copy', '-movflags', '+faststart', clip]);
  s3Proxy = await proxyEndpoint(w.fauxqs.endpoint);
}, 60_000);

afterAll(async () => {
  await s3Proxy?.close();
  await w?.stop();
});

/** The split's FFmpeg, reading the loopback URL (setpriv execs it in place: a direct child of the worker). */
async function splitting(worker: number): Promise<boolean> {
  const pids = (await execa('pgrep', ['-P', String(worker)], { reject: false })).stdout.split('\n').filter(Boolean);
  for (const pid of pids) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes('segment') && argv.some((a) => a.startsWith('http://127.0.0.1:'))) return true;
  }
  return false;
}

describe('chunk reads the source while it downloads', () => {
  it('splits before the download ends, survives a cut connection, and makes the segments of the whole file', async () => {
    const [chunking, videoWorker, reassembly] = await Promise.all(['chunking', 'video-worker', 'reassembly'].map((n) => w.createQueue(`overlap-${n}`, 30, 3)));
    const expectedDir = join(w.tmp, 'expected');
    await mkdir(expectedDir);
    await execa(w.bins.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-i', clip, '-map', '0', '-c', 'copy', '-f', 'segment',
      '-segment_time', String(SEGMENT_SECONDS), '-reset_timestamps', '1', join(expectedDir, 'seg_%05d.mp4')]);
    const expected = (await readdir(expectedDir)).sort();
    const source = await readFile(clip);
    const jobId = 'overlap-1';
    await w.ddb.send(new PutCommand({ TableName: w.tables.jobs, Item: { job_id: jobId, mode: 'sbs', status: 'created', created_at: Math.floor(Date.now() / 1000) } }));
    await w.putObject(INPUT, `input/${jobId}/source.mp4`, source);

    const env = w.workerEnv({ chunking: chunking!.url, videoWorker: videoWorker!.url, reassembly: reassembly!.url }, {
      AWS_ENDPOINT_URL_S3: s3Proxy.endpoint, CHUNK_SEGMENT_DURATION_SEC: String(SEGMENT_SECONDS), WORK_DIR: join(w.tmp, 'work'),
    });
    const worker: WorkerProcess = await startWorkerProcess(['--role', 'chunk'], env, 'overlap-chunk');
    try {
      // ~4 s of download; the connection cut once at 60 %.
      s3Proxy.set({ kind: 'bandwidth', bytesPerSecond: Math.ceil(source.length / 4) });
      s3Proxy.resetAfter(Math.floor(source.length * 0.6), 'down');
      await w.send(chunking!.url, s3Event(INPUT, `input/${jobId}/source.mp4`, source.length));
      const downloaded = (): boolean => worker.events.some((e) => e.event_type === 'chunking_source_downloaded');
      const diag = (): string => worker.events.map((e) => `${String(e.time ?? e.timestamp)} ${e.event_type} ${e.msg}`).join('\n');
      await until('the split reading the loopback URL', 20_000, async () => (await splitting(worker.child.pid!)) || downloaded(), { everyMs: 50 });
      if (downloaded()) throw new Error(`the download ended before the split was seen:\n${diag()}`);
      await worker.waitFor((e) => e.event_type === 'chunking_completed', 60_000);
      expect(s3Proxy.stats().resets).toBeGreaterThanOrEqual(1);
    } catch (err) {
      await worker.stop();
      throw err;
    } finally {
      s3Proxy.set({ kind: 'pass' });
    }
    expect(await w.getJob(jobId)).toMatchObject({ status: 'chunking_complete', total_segments: expected.length });
    const keys = (await w.listKeys(INPUT, `segments/${jobId}/`)).map((o) => o.key).sort();
    expect(keys).toHaveLength(expected.length);
    // Each segment as the local split of the whole file makes it: same frames, in order.
    for (const [i, key] of keys.entries()) {
      const got = join(w.tmp, `got-${i}.mp4`);
      await writeFile(got, await (await w.s3.send(new GetObjectCommand({ Bucket: INPUT, Key: key }))).Body!.transformToByteArray());
      const [a, b] = await Promise.all([w.probeVideo(got), w.probeVideo(join(expectedDir, expected[i]!))]);
      expect([key, a.frames, a.duration]).toEqual([key, b.frames, b.duration]);
    }
    expect(worker.events.filter((e) => e.event_type === 'chunking_completed')).toHaveLength(1);
    expect(await worker.stop()).toBe(0);
  }, 90_000);
});

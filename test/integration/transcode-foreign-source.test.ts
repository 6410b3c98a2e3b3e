// complete-upload stores the storage_path its caller sends, checking only that the object
// exists (RUGBYCODEX.md "The other actors"), so a member of one org can point their own asset
// at another org's raw video. The transcode role, in this process on the production ports
// (fauxqs SQS + S3, the PostgREST stand-in on real PostgreSQL), must then read nothing: the
// job fails as invalid input with the reason on one line, the asset failed, the message
// acked (no retry, no DLQ), nothing read from the bucket, nothing published.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { roleDefinition } from '../../roles/index.js';
import { productionPorts } from '../../src/wiring/production-ports.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import type { DownloadOptions, GetStreamOptions, ObjectInfo, ObjectStore, RolePorts } from '../../src/ports/index.js';
import { DelegatingStore } from '../helpers/delegating-store.js';
import { replayCompleteUpload } from '../helpers/complete-upload.js';
import { BUCKET, EMPTY, makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';

type LogEvent = Record<string, unknown> & { event_type?: string };

let codex: RugbyCodex;
let tmp: string;
let clip: string;

beforeAll(async () => {
  const { ffmpeg } = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-transcode-foreign-'));
  codex = await startRugbyCodex();
  clip = join(tmp, 'clip.mp4');
  await makeClip(ffmpeg, clip, 2, '320x180');
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Every key the role asked a media bucket about, with the call. */
class Recording extends DelegatingStore {
  constructor(inner: ObjectStore, readonly calls: string[]) { super(inner); }
  override head(key: string): Promise<ObjectInfo | null> { this.calls.push(`head ${key}`); return super.head(key); }
  override exists(key: string): Promise<boolean> { this.calls.push(`exists ${key}`); return super.exists(key); }
  override getStream(key: string, opts?: GetStreamOptions): Promise<Readable> { this.calls.push(`get ${key}`); return super.getStream(key, opts); }
  override download(key: string, file: string, opts?: DownloadOptions): Promise<ObjectInfo> { this.calls.push(`download ${key}`); return super.download(key, file, opts); }
  override upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    this.calls.push(`upload ${key}`);
    return super.upload(source, key, contentType, opts);
  }
  override list(prefix: string): AsyncIterable<ObjectInfo> { this.calls.push(`list ${prefix}`); return super.list(prefix); }
}

describe('transcode: a storage_path outside the asset\'s folder', () => {
  it('another org\'s raw video: job failed as invalid input, acked, nothing read, nothing published', async () => {
    const queues = await codex.createQueues();
    const victim = await codex.seedUpload(clip);
    const attacker = await codex.seedUpload(clip);
    // complete-upload, called by the attacker with the victim's key as storage_path: it sends the message.
    await replayCompleteUpload(codex, queues.queueUrl, { org: attacker.org, asset: attacker.asset, key: victim.key });
    const rowsBefore = { victimAsset: await codex.standin.row('media_assets', victim.asset), victimJob: await codex.standin.row('jobs', victim.job) };

    const workDir = join(tmp, 'work');
    const config = loadConfig({ env: codex.workerEnv(queues.queueUrl, workDir, { HLS_RENDITIONS: '180' }) });
    const events: LogEvent[] = [];
    const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => void events.push(JSON.parse(line) as LogEvent) });
    const real = productionPorts(config, logger);
    const calls: string[] = [];
    const ports: RolePorts = {
      queue: (key) => real.queue(key), mediaDb: () => real.mediaDb(), pipelineDb: () => real.pipelineDb(), inference: () => real.inference(),
      storage: (b) => new Recording(real.storage(b), calls),
    };
    const stopping = new AbortController();
    const start = roleDefinition('transcode')?.start;
    if (!start) throw new Error('the transcode role has no start()');
    const service = await start({
      config, instanceId: 'worker-foreign', logger, metrics: new Metrics({ instanceId: 'worker-foreign', defaultMetrics: false }),
      stopping: stopping.signal, concurrency: 1, once: true, ports,
    });
    try {
      await service.done;
    } finally {
      stopping.abort();
      await service.stop(AbortSignal.timeout(5000));
      await real.close();
    }

    const reason = `the raw video's storage_path ${JSON.stringify(victim.key)} is outside the asset's folder orgs/${attacker.org}/uploads/${attacker.asset}/`;
    const of = (type: string) => events.filter((e) => e.event_type === type);
    expect(of('transcode_failed')).toEqual([expect.objectContaining({ error_code: 'INVALID_INPUT', permanent: true, error_message: reason })]);
    expect(of('transcode_started')).toEqual([]);
    expect(of('job_retry')).toEqual([]);
    expect(await codex.standin.row('jobs', attacker.job)).toMatchObject({ state: 'failed', error_code: 'INVALID_INPUT', error_message: reason });
    expect(await codex.standin.row('media_assets', attacker.asset)).toMatchObject({ processing_stage: 'failed', status: 'failed', streaming_ready: false });
    // Nothing read from the bucket at all (no head, no download, no ranged read), nothing written.
    expect(calls).toEqual([]);
    const keys = async (prefix: string) => ((await codex.s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);
    expect(await keys(attacker.streaming)).toEqual([]);
    expect(await keys(`orgs/${victim.org}/`)).toEqual([victim.key]);
    // The victim's rows are untouched; the message is gone, not dead-lettered.
    expect({ victimAsset: await codex.standin.row('media_assets', victim.asset), victimJob: await codex.standin.row('jobs', victim.job) }).toEqual(rowsBefore);
    expect(await codex.depth(queues.queueUrl)).toEqual(EMPTY);
    expect(await codex.depth(queues.dlqUrl!)).toEqual(EMPTY);
  }, 60_000);
});

// The cleanup role in the shipped x64 executable, against fauxqs S3 and the PostgREST
// stand-in: `--once --dry-run` reports and changes nothing (exit 0); `--once` deletes,
// marks, and exits 1 when a row failed; --dry-run is refused for a role without it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { startPostgrestStandin, type PostgrestStandin, type Row } from '../helpers/postgrest-standin.js';
import { runExe } from '../helpers/binary.js';
import { MEDIA_COLUMNS } from '../helpers/media-columns.js';

const KEY = 'service-role-key-for-cleanup-e2e';
const BUCKET = 'rugbycodex-media';
const cwd = mkdtempSync(join(tmpdir(), 'rw-e2e-cleanup-')); // no stray .env from the repo

let fauxqs: LocalServer;
let standin: PostgrestStandin;
let s3: S3Client;

beforeAll(async () => {
  [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: KEY, schema: MEDIA_COLUMNS })]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterAll(async () => {
  s3?.destroy();
  await Promise.all([fauxqs?.stop(), standin?.stop()]);
});

const env = (): Record<string, string> => ({
  AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
  BUCKET_NAME: BUCKET, SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: KEY, AXIOM_ENVIRONMENT: 'e2e',
});

async function keys(): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

function row(id: string, storagePath: string, createdAt: string): Row {
  return { id, media_asset_id: null, storage_path: storagePath, processed_at: null, objects_deleted: null, error: null, created_at: createdAt };
}

const events = (stdout: string): Array<Record<string, unknown>> => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('rugbyworker --role cleanup', () => {
  const org = randomUUID();
  const asset = randomUUID();
  const folder = [`orgs/${org}/uploads/${asset}/raw/match.mp4`, `orgs/${org}/uploads/${asset}/streaming/master.m3u8`, `orgs/${org}/uploads/${asset}/thumbnails/poster.jpg`,
    ...Array.from({ length: 12 }, (_, i) => `orgs/${org}/uploads/${asset}/streaming/720p/seg_${String(i).padStart(5, '0')}.ts`)];
  const sibling = `orgs/${org}/uploads/${asset}0/raw/match.mp4`;
  const [good, bad] = [randomUUID(), randomUUID()];

  beforeAll(async () => {
    await Promise.all([...folder, sibling].map((Key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'bytes' }))));
    standin.seed('media_cleanup_jobs', row(good, folder[0]!, '2026-11-24T08:00:00.000Z'));
  });

  it('--once --dry-run prints what would be deleted, changes nothing, exits 0', async () => {
    const before = await keys();
    const rows = standin.rows('media_cleanup_jobs');
    standin.clearRequests();
    const r = await runExe(['--role', 'cleanup', '--once', '--dry-run'], { cwd, env: env(), timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const planned = events(r.stdout).filter((e) => e.event_type === 'cleanup_job_dry_run');
    expect(planned).toEqual([expect.objectContaining({
      job_id: good, prefix: `orgs/${org}/uploads/${asset}/`, objects: folder.length, bytes: folder.length * 5, first_keys: [...folder].sort().slice(0, 10),
      message: `would delete ${folder.length} objects (${folder.length * 5} bytes) under orgs/${org}/uploads/${asset}/`, environment: 'e2e',
    })]);
    expect(await keys()).toEqual(before);
    expect(standin.rows('media_cleanup_jobs')).toEqual(rows);
    expect(standin.requests.map((q) => q.method)).toEqual(['GET']);
  });

  it('--once deletes the folder, marks the row, and exits 1 when another row failed', async () => {
    standin.seed('media_cleanup_jobs', row(bad, `orgs/${org}/uploads/../raw/x.mp4`, '2026-11-24T09:00:00.000Z'));
    const r = await runExe(['--role', 'cleanup', '--once'], { cwd, env: env(), timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    const types = events(r.stdout).map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['cleanup_started', 'cleanup_job_completed', 'cleanup_job_failed', 'cleanup_pass_completed', 'shutdown_completed']));
    expect(events(r.stdout).find((e) => e.event_type === 'shutdown_completed')).toMatchObject({ exit_code: 1 }); // the log agrees with the exit
    expect(await keys()).toEqual([sibling]);
    expect(standin.row('media_cleanup_jobs', good)).toMatchObject({ processed_at: expect.any(String), objects_deleted: folder.length, error: null });
    expect(standin.row('media_cleanup_jobs', bad)).toMatchObject({ processed_at: null, error: expect.stringMatching(/^unsafe path "orgs\/.*\/uploads\/\.\.\/raw\/x\.mp4": .*; nothing deleted$/) });
  });

  it('--once exits 0 when every job succeeded', async () => {
    standin.update('media_cleanup_jobs', bad, { processed_at: '2026-11-24T10:00:00.000Z' }); // an operator settled it
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `orgs/${org}/uploads/x/raw/y.mp4`, Body: 'y' }));
    const id = randomUUID();
    standin.seed('media_cleanup_jobs', row(id, `orgs/${org}/uploads/x/raw/y.mp4`, '2026-11-24T10:00:00.000Z'));
    const r = await runExe(['--role', 'cleanup', '--once'], { cwd, env: env(), timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await keys()).toEqual([sibling]);
    expect(standin.row('media_cleanup_jobs', id)).toMatchObject({ objects_deleted: 1, error: null });
  });

  it('refuses --dry-run for a role that does not support it (exit 64), before anything starts', async () => {
    const r = await runExe(['--role', 'transcode', '--once', '--dry-run'], { cwd, env: env() });
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('rugbyworker: --dry-run is not supported by role transcode (only cleanup)\n');
    expect(r.stdout).toBe('');
  });
});

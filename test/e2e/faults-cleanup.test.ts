// Issue 12 on the cleanup role, on the executable: S3 (behind the fault proxy) resets every
// connection through a cleanup pass. The rows must stay pending with the error (never
// marked processed without their folder deleted), /health must name s3, and the next pass
// after S3 is back deletes each folder (its siblings untouched) and marks each row once.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { proxyEndpoint, type FaultProxy } from '../helpers/fault-proxy.js';
import { awsTestClientConfig, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { postgresSkipReason, startPostgrestStandin, type PostgrestStandin } from '../helpers/postgrest-standin.js';
import { startWorkerProcess, watchHealth } from '../helpers/worker-process.js';

const KEY = 'service-role-key-for-cleanup-faults';
const BUCKET = 'rugbycodex';
const skip = postgresSkipReason();
const describeIfPostgres = skip ? describe.skip : describe;

let fauxqs: LocalServer;
let standin: PostgrestStandin;
let s3: S3Client;
let s3Proxy: FaultProxy & { endpoint: string };
let tmp: string;

beforeAll(async () => {
  if (skip) return;
  tmp = await mkdtemp(join(tmpdir(), 'rw-faults-cleanup-'));
  [fauxqs, standin] = await Promise.all([startFauxqs(), startPostgrestStandin({ apiKey: KEY })]);
  s3 = new S3Client(awsTestClientConfig(fauxqs.endpoint));
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3Proxy = await proxyEndpoint(fauxqs.endpoint);
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await s3Proxy?.close();
  await Promise.all([fauxqs?.stop(), standin?.stop()]);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function keys(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

describeIfPostgres('S3 down during a cleanup pass', () => {
  it('rows stay pending with the error, /health names s3; the next pass deletes each folder once and marks each row', async () => {
    const org = randomUUID();
    const assets = [randomUUID(), randomUUID(), randomUUID()];
    for (const a of assets) {
      for (const f of ['raw/match.mp4', 'streaming/index.m3u8', 'streaming/360p/seg_00000.ts']) {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `orgs/${org}/uploads/${a}/${f}`, Body: 'x' }));
      }
    }
    const sibling = `orgs/${org}/uploads/keep-me/raw/other.mp4`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: sibling, Body: 'x' }));
    const ids = assets.map(() => randomUUID());
    for (const [i, a] of assets.entries()) {
      await standin.seed('media_cleanup_jobs', {
        id: ids[i], media_asset_id: a, bucket: BUCKET, storage_path: `orgs/${org}/uploads/${a}/raw/match.mp4`, created_at: `2026-11-24T0${i}:00:00.000Z`,
      });
    }

    s3Proxy.set({ kind: 'reset' });
    const w = await startWorkerProcess(['--role', 'cleanup'], {
      AWS_ENDPOINT_URL: s3Proxy.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test',
      SUPABASE_URL: standin.url, SUPABASE_SERVICE_ROLE_KEY: KEY, CLEANUP_INTERVAL_SECONDS: '3',
    }, 'cleanup');
    try {
      // The first pass meets S3 down: every row keeps processed_at null, with the error.
      const failing = await watchHealth(w.health, (async () => {
        for (const until = Date.now() + 30_000; Date.now() < until;) {
          const rows = await Promise.all(ids.map((id) => standin.row('media_cleanup_jobs', id)));
          if (rows.every((r) => r?.processed_at === null && typeof r?.error === 'string')) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      })());
      for (const id of ids) expect(await standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: null, error: expect.any(String) });
      expect(failing.map((h) => h.label)).toContain('503 s3');
      expect(await keys(`orgs/${org}/`)).toHaveLength(assets.length * 3 + 1); // nothing deleted

      s3Proxy.set({ kind: 'pass' });
      for (const until = Date.now() + 30_000; Date.now() < until;) {
        const rows = await Promise.all(ids.map((id) => standin.row('media_cleanup_jobs', id)));
        if (rows.every((r) => r?.processed_at !== null)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const id of ids) expect(await standin.row('media_cleanup_jobs', id)).toMatchObject({ processed_at: expect.any(String), error: null });
      expect(await keys(`orgs/${org}/`)).toEqual([sibling]);
      // Each row marked processed exactly once (the conditional PATCH on processed_at is null).
      for (const id of ids) {
        const marks = standin.requests.filter((r) => r.method === 'PATCH' && r.query.id === `eq.${id}` && (r.status ?? 0) < 300 && (r.body as { processed_at?: unknown }).processed_at);
        expect({ id, marks: marks.length }).toEqual({ id, marks: 1 });
      }
      const after = await watchHealth(w.health, new Promise((r) => setTimeout(r, 300)));
      expect(after.at(-1)?.label).toBe('200');
    } finally {
      s3Proxy.set({ kind: 'pass' });
      expect(await w.stop()).toBe(0);
    }
  }, 120_000);
});

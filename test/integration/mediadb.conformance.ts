// One behaviour for every MediaDb adapter: run by mediadb-supabase.test.ts (supabase-js
// against the PostgREST stand-in) and unit/mediadb-memory.test.ts. Rows are read back
// through the harness, as the backend itself keeps them.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { DbError } from '../../src/adapters/db/db-error.js';
import type { CleanupJobRow, MediaAssetRow, TranscodeJobRow } from '../../src/adapters/db/schema.js';
import type { MediaDb, TranscodeResult } from '../../src/ports.js';

/** The columns of deploy/supabase/migrations (migration.test.ts checks them against Postgres). */
export { MEDIA_COLUMNS } from '../helpers/media-columns.js';

export const T0 = '2026-11-24T10:00:00.000Z';
export const ORG = '0d5c8a3e-1111-4a1b-9c1d-000000000001';
export const ASSET = '0d5c8a3e-2222-4a1b-9c1d-000000000002';
export const JOB = '0d5c8a3e-3333-4a1b-9c1d-000000000003';
export const WORKER = 'jetson-01:1234';

export function assetRow(row: Partial<MediaAssetRow> = {}): MediaAssetRow {
  return {
    id: ASSET, org_id: ORG, storage_path: `orgs/${ORG}/uploads/${ASSET}/raw/match.mp4`, streaming_path: null, thumbnail_path: null, status: 'uploaded',
    duration_seconds: null, width: null, height: null, renditions: null, error_code: null, error_message: null, created_at: T0, updated_at: T0, ...row,
  };
}

export function jobRow(row: Partial<TranscodeJobRow> = {}): TranscodeJobRow {
  return {
    id: JOB, media_asset_id: ASSET, status: 'pending', progress: 0, attempts: 0, worker_id: null, error_code: null, error_message: null,
    started_at: null, completed_at: null, created_at: T0, updated_at: T0, ...row,
  };
}

export function cleanupRow(row: Partial<CleanupJobRow> & Pick<CleanupJobRow, 'id'>): CleanupJobRow {
  return { media_asset_id: null, storage_path: `orgs/${ORG}/uploads/${row.id}/raw/x.mp4`, processed_at: null, objects_deleted: null, error: null, created_at: T0, ...row };
}

export function transcodeResult(over: Partial<TranscodeResult> = {}): TranscodeResult {
  const base = `orgs/${ORG}/uploads/${ASSET}`;
  return {
    jobId: JOB, assetId: ASSET, streamingPath: `${base}/streaming/master.m3u8`, thumbnailPath: `${base}/thumbnails/poster.jpg`,
    durationSeconds: 61.44, width: 1920, height: 1080,
    renditions: [
      { name: '1080p', width: 1920, height: 1080, bandwidth: 6_000_000, playlist: '1080p/index.m3u8' },
      { name: '720p', width: 1280, height: 720, bandwidth: 3_000_000, playlist: '720p/index.m3u8' },
    ],
    ...over,
  };
}

export interface MediaDbHarness {
  db: MediaDb;
  seedAsset(row: MediaAssetRow): void;
  seedJob(row: TranscodeJobRow): void;
  seedCleanupJob(row: CleanupJobRow): void;
  asset(id: string): MediaAssetRow | undefined;
  job(id: string): TranscodeJobRow | undefined;
  cleanupJob(id: string): CleanupJobRow | undefined;
}

/** Tests set `clock.now`; adapters read it through the `now` they were built with. */
export interface TestClock {
  now: Date;
}

const without = <T extends object>(row: T | undefined, key: keyof T): Partial<T> => {
  const copy: Partial<T> = { ...row };
  delete copy[key];
  return copy;
};

export function describeMediaDbConformance(name: string, makeHarness: (clock: TestClock) => Promise<MediaDbHarness>): void {
  describe(`MediaDb conformance: ${name}`, () => {
    const clock: TestClock = { now: new Date(T0) };
    let h: MediaDbHarness;

    beforeEach(async () => {
      clock.now = new Date('2026-11-24T11:00:00.000Z');
      h = await makeHarness(clock);
    });

    describe('claimTranscodeJob', () => {
      it('claims a pending job: processing, attempts 1, worker and start time; the asset goes processing', async () => {
        h.seedAsset(assetRow());
        h.seedJob(jobRow());
        await expect(h.db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toEqual({ outcome: 'claimed', attempts: 1, orgId: ORG });
        expect(h.job(JOB)).toMatchObject({ status: 'processing', attempts: 1, worker_id: WORKER, started_at: '2026-11-24T11:00:00.000Z', progress: 0 });
        expect(h.asset(ASSET)).toMatchObject({ status: 'processing' });
      });

      it('increments attempts on every claim (a redelivery after a worker died, a retry after a failure)', async () => {
        h.seedAsset(assetRow({ status: 'failed', error_code: 'DOWNLOAD_ERROR', error_message: 'timeout' }));
        h.seedJob(jobRow({ status: 'failed', attempts: 2, worker_id: 'old', error_code: 'DOWNLOAD_ERROR', error_message: 'timeout' }));
        await expect(h.db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toMatchObject({ outcome: 'claimed', attempts: 3 });
        await expect(h.db.claimTranscodeJob(JOB, ASSET, 'other-worker')).resolves.toMatchObject({ outcome: 'claimed', attempts: 4 });
        expect(h.job(JOB)).toMatchObject({ status: 'processing', attempts: 4, worker_id: 'other-worker', error_code: null, error_message: null });
        expect(h.asset(ASSET)).toMatchObject({ status: 'processing', error_code: null, error_message: null });
      });

      it('a completed job is reported completed and nothing is written', async () => {
        const asset = assetRow({ status: 'ready' });
        const job = jobRow({ status: 'completed', attempts: 1, progress: 100, worker_id: 'w0', completed_at: T0 });
        h.seedAsset(asset);
        h.seedJob(job);
        await expect(h.db.claimTranscodeJob(JOB, ASSET, WORKER)).resolves.toEqual({ outcome: 'completed', attempts: 1, orgId: null });
        expect(h.job(JOB)).toEqual(job);
        expect(h.asset(ASSET)).toEqual(asset);
      });

      it('an unknown job, or a job of another asset, is a permanent DbError naming transcode_jobs', async () => {
        h.seedAsset(assetRow());
        h.seedJob(jobRow());
        const missing = await h.db.claimTranscodeJob('0d5c8a3e-9999-4a1b-9c1d-000000000009', ASSET, WORKER).catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(DbError);
        expect(missing).toMatchObject({ table: 'transcode_jobs', transient: false });
        expect((missing as Error).message).toMatch(/^transcode_jobs: no job /);
        const other = await h.db.claimTranscodeJob(JOB, '0d5c8a3e-8888-4a1b-9c1d-000000000008', WORKER).catch((e: unknown) => e);
        expect(other).toMatchObject({ name: 'DbError', table: 'transcode_jobs', transient: false });
        expect(h.job(JOB)).toMatchObject({ status: 'pending', attempts: 0 });
      });
    });

    describe('updateProgress', () => {
      it('writes whole percents and never goes backwards', async () => {
        h.seedAsset(assetRow({ status: 'processing' }));
        h.seedJob(jobRow({ status: 'processing', attempts: 1 }));
        await h.db.updateProgress(JOB, 10);
        expect(h.job(JOB)?.progress).toBe(10);
        await h.db.updateProgress(JOB, 5);
        expect(h.job(JOB)?.progress).toBe(10);
        await h.db.updateProgress(JOB, 10);
        await h.db.updateProgress(JOB, 57.9);
        expect(h.job(JOB)?.progress).toBe(57);
        await h.db.updateProgress(JOB, Number.NaN);
        await h.db.updateProgress(JOB, 250);
        expect(h.job(JOB)?.progress).toBe(100);
      });

      it('leaves a completed job at 100', async () => {
        h.seedAsset(assetRow({ status: 'ready' }));
        h.seedJob(jobRow({ status: 'completed', progress: 100 }));
        await h.db.updateProgress(JOB, 40);
        expect(h.job(JOB)?.progress).toBe(100);
      });
    });

    describe('completeTranscode', () => {
      it('asset ready with its streaming data, job completed with progress 100', async () => {
        h.seedAsset(assetRow({ status: 'processing' }));
        h.seedJob(jobRow({ status: 'processing', attempts: 1, progress: 80, worker_id: WORKER }));
        const result = transcodeResult();
        await h.db.completeTranscode(result);
        expect(h.asset(ASSET)).toMatchObject({
          status: 'ready', streaming_path: result.streamingPath, thumbnail_path: result.thumbnailPath, duration_seconds: 61.44, width: 1920, height: 1080,
          renditions: result.renditions, error_code: null, error_message: null,
        });
        expect(h.job(JOB)).toMatchObject({ status: 'completed', progress: 100, completed_at: '2026-11-24T11:00:00.000Z', attempts: 1, worker_id: WORKER });
      });

      it('a second completion (redelivery) changes nothing that matters', async () => {
        h.seedAsset(assetRow({ status: 'processing' }));
        h.seedJob(jobRow({ status: 'processing', attempts: 1 }));
        await h.db.completeTranscode(transcodeResult());
        const [asset, job] = [h.asset(ASSET), h.job(JOB)];
        clock.now = new Date('2026-11-24T12:00:00.000Z');
        await h.db.completeTranscode(transcodeResult());
        expect(h.job(JOB)).toEqual(job);
        expect(without(h.asset(ASSET), 'updated_at')).toEqual(without(asset, 'updated_at'));
      });

      it('writes the asset before the job: a job that cannot complete fails after the asset is ready', async () => {
        h.seedAsset(assetRow({ status: 'processing' }));
        h.seedJob(jobRow({ status: 'pending' }));
        const err = await h.db.completeTranscode(transcodeResult()).catch((e: unknown) => e);
        expect(err).toMatchObject({ name: 'DbError', table: 'transcode_jobs', transient: false });
        expect(h.asset(ASSET)?.status).toBe('ready');
        expect(h.job(JOB)?.status).toBe('pending');
      });
    });

    describe('failTranscode', () => {
      it('job and asset failed with the code and a one-line message', async () => {
        h.seedAsset(assetRow({ status: 'processing' }));
        h.seedJob(jobRow({ status: 'processing', attempts: 1, progress: 30 }));
        await h.db.failTranscode(JOB, ASSET, 'INVALID_INPUT', 'no video stream\n  in match.mp4');
        const error = { error_code: 'INVALID_INPUT', error_message: 'no video stream in match.mp4' };
        expect(h.job(JOB)).toMatchObject({ status: 'failed', progress: 30, ...error });
        expect(h.asset(ASSET)).toMatchObject({ status: 'failed', ...error });
      });

      it('a job never claimed (every delivery failed before the claim) goes from pending to failed', async () => {
        h.seedAsset(assetRow({ status: 'uploaded' }));
        h.seedJob(jobRow({ status: 'pending', attempts: 0 }));
        await h.db.failTranscode(JOB, ASSET, 'DB_ERROR', 'select failed (HTTP 500)');
        expect(h.job(JOB)).toMatchObject({ status: 'failed', attempts: 0, error_code: 'DB_ERROR' });
        expect(h.asset(ASSET)).toMatchObject({ status: 'failed', error_code: 'DB_ERROR' });
      });

      it('a completed job and its ready asset stay as they are', async () => {
        const asset = assetRow({ status: 'ready' });
        const job = jobRow({ status: 'completed', progress: 100 });
        h.seedAsset(asset);
        h.seedJob(job);
        await h.db.failTranscode(JOB, ASSET, 'FFMPEG_ERROR', 'late failure of a lost lease');
        expect(h.job(JOB)).toEqual(job);
        expect(h.asset(ASSET)).toEqual(asset);
      });
    });

    describe('cleanup jobs', () => {
      const [A, B, C, D] = ['c0000000-0000-4000-8000-00000000000a', 'c0000000-0000-4000-8000-00000000000b', 'c0000000-0000-4000-8000-00000000000c', 'c0000000-0000-4000-8000-00000000000d'];

      beforeEach(() => {
        h.seedCleanupJob(cleanupRow({ id: B, created_at: '2026-11-24T09:00:00.000Z' }));
        h.seedCleanupJob(cleanupRow({ id: A, created_at: '2026-11-24T08:00:00.000Z', error: 'unsafe path' }));
        h.seedCleanupJob(cleanupRow({ id: C, created_at: '2026-11-24T07:00:00.000Z', processed_at: '2026-11-24T07:30:00.000Z', objects_deleted: 3 }));
        h.seedCleanupJob(cleanupRow({ id: D, created_at: '2026-11-24T09:00:00.000Z' }));
      });

      it('lists unprocessed rows oldest first', async () => {
        await expect(h.db.pendingCleanupJobs()).resolves.toEqual([
          { id: A, storagePath: `orgs/${ORG}/uploads/${A}/raw/x.mp4` },
          { id: B, storagePath: `orgs/${ORG}/uploads/${B}/raw/x.mp4` },
          { id: D, storagePath: `orgs/${ORG}/uploads/${D}/raw/x.mp4` },
        ]);
      });

      it('marks a row processed (error cleared) once, keeping the first processed_at', async () => {
        await h.db.markCleanupProcessed(A, 2501);
        expect(h.cleanupJob(A)).toMatchObject({ processed_at: '2026-11-24T11:00:00.000Z', objects_deleted: 2501, error: null });
        clock.now = new Date('2026-11-24T17:00:00.000Z');
        await h.db.markCleanupProcessed(A, 0);
        expect(h.cleanupJob(A)).toMatchObject({ processed_at: '2026-11-24T11:00:00.000Z', objects_deleted: 2501 });
        expect((await h.db.pendingCleanupJobs()).map((j) => j.id)).toEqual([B, D]);
      });

      it('a failed row keeps processed_at null and carries the error; a processed row is not touched', async () => {
        await h.db.markCleanupFailed(B, 'unsafe path "../x"\nrefused');
        expect(h.cleanupJob(B)).toMatchObject({ processed_at: null, error: 'unsafe path "../x" refused' });
        await h.db.markCleanupFailed(C, 'late');
        expect(h.cleanupJob(C)).toMatchObject({ error: null, objects_deleted: 3 });
        expect((await h.db.pendingCleanupJobs()).map((j) => j.id)).toEqual([A, B, D]);
      });
    });
  });
}

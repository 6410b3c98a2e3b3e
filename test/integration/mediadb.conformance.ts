// One behaviour for every MediaDb adapter: run by mediadb-supabase.test.ts (supabase-js
// against the PostgREST stand-in on real PostgreSQL) and unit/mediadb-memory.test.ts.
// Rows are read back through the harness, as the backend itself keeps them; timestamps
// are compared as instants (PostgreSQL answers +00:00, the memory adapter Z).
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { CleanupJobRow, JobRow, MediaAssetRow } from '../../src/adapters/db/schema.js';
import type { MemoryCoachAudioRow } from '../../src/adapters/db/memory.js';
import { HoldLostError } from '../../src/ports/index.js';
import type { ComputeDeviceRow, JobHold, JobRef, MediaDb, StoryboardRecord, TranscodeClaim, TranscodeOutcome } from '../../src/ports/index.js';

export const T0 = '2026-11-24T10:00:00.000Z';
export const NOW = '2026-11-24T11:00:00.000Z';
export const ORG = '0d5c8a3e-1111-4a1b-9c1d-000000000001';
export const ASSET = '0d5c8a3e-2222-4a1b-9c1d-000000000002';
export const JOB = '0d5c8a3e-3333-4a1b-9c1d-000000000003';
export const REF: JobRef = { jobId: JOB, mediaId: ASSET, orgId: ORG };

/** An asset as complete-upload leaves it: uploaded, queued for transcoding. */
export function assetRow(row: Partial<MediaAssetRow> = {}): Partial<MediaAssetRow> {
  return {
    id: ASSET, org_id: ORG, bucket: 'rugbycodex', storage_path: `orgs/${ORG}/uploads/${ASSET}/raw/match.mp4`, file_name: 'match.mp4',
    base_org_storage_path: `orgs/${ORG}/uploads/`, status: 'uploaded', processing_stage: 'uploaded', transcode_progress: 0, streaming_ready: false,
    duration_seconds: 61.44, created_at: T0, ...row,
  };
}

export function jobRow(row: Partial<JobRow> = {}): Partial<JobRow> {
  return { id: JOB, org_id: ORG, media_asset_id: ASSET, type: 'transcode', state: 'queued', progress: 0, attempt: 1, created_at: T0, updated_at: T0, ...row };
}

export function cleanupRow(row: Partial<CleanupJobRow> & Pick<CleanupJobRow, 'id'>): Partial<CleanupJobRow> {
  return { media_asset_id: row.id, bucket: 'rugbycodex', storage_path: `orgs/${ORG}/uploads/${row.id}/raw/x.mp4`, processed_at: null, error: null, created_at: T0, ...row };
}

export const STORYBOARD: StoryboardRecord = {
  spriteKey: `orgs/${ORG}/uploads/${ASSET}/streaming/thumbnails/storyboard_000.jpg`,
  vttKey: `orgs/${ORG}/uploads/${ASSET}/streaming/thumbnails/storyboard.vtt`,
  frameCount: 11, intervalSeconds: 6, width: 320, height: 180,
};

export const OUTCOME: TranscodeOutcome = {
  playlistKey: `orgs/${ORG}/uploads/${ASSET}/streaming/index.m3u8`,
  renditions: [{ name: '1080p', width: 1920, height: 1080, bandwidth: 6_600_000 }, { name: '720p', width: 1280, height: 720, bandwidth: 3_440_800 }],
  durationSeconds: 61.44,
};

export interface MediaDbHarness {
  db: MediaDb;
  seedAsset(row: Partial<MediaAssetRow>): Promise<void>;
  seedJob(row: Partial<JobRow>): Promise<void>;
  seedCleanupJob(row: Partial<CleanupJobRow>): Promise<void>;
  /** Changes a row as another client would (complete-upload, say). */
  patchAsset(id: string, patch: Partial<MediaAssetRow>): Promise<void>;
  patchJob(id: string, patch: Partial<JobRow>): Promise<void>;
  asset(id: string): Promise<MediaAssetRow | undefined>;
  job(id: string): Promise<JobRow | undefined>;
  cleanupJob(id: string): Promise<CleanupJobRow | undefined>;
  /** The device's compute_devices row in the port's words (timestamps as ISO instants); undefined without one. */
  device(name: string): Promise<Partial<ComputeDeviceRow> | undefined>;
  seedCoachAudio(row: CoachAudioSeed): Promise<void>;
  /** A segment_insight_audio_deletions row in the port's words (timestamps as ISO instants). */
  coachAudio(id: string): Promise<CoachAudioRow | undefined>;
}

/** The row in the port's words: the memory adapter keeps it so. */
export type CoachAudioRow = MemoryCoachAudioRow;

export type CoachAudioSeed = Partial<CoachAudioRow> & Pick<CoachAudioRow, 'id' | 'coachAudioUrl'>;

export const coachAudioKey = (segment: string): string => `orgs/${ORG}/insights/segments/${segment}/coach.mp3`;

/** Tests set `clock.now`; adapters read it through the `now` they were built with. */
export interface TestClock {
  now: Date;
}

export const instant = (t: string | null | undefined): string | null => (t == null ? null : new Date(t).toISOString());

export function describeMediaDbConformance(name: string, makeHarness: (clock: TestClock) => Promise<MediaDbHarness>): void {
  describe(`MediaDb conformance: ${name}`, () => {
    const clock: TestClock = { now: new Date(NOW) };
    let h: MediaDbHarness;
    const seed = async (job: Partial<JobRow> = {}, asset: Partial<MediaAssetRow> = {}): Promise<void> => {
      await h.seedAsset(assetRow(asset));
      await h.seedJob(jobRow(job));
    };

    beforeEach(async () => {
      clock.now = new Date(NOW);
      h = await makeHarness(clock);
    });

    it('ping resolves against a reachable database', async () => {
      await expect(h.db.ping()).resolves.toBeUndefined();
    });

    const CLAIM: TranscodeClaim = { from: { state: 'queued' }, attempt: 1, holder: { messageId: 'msg-1', worker: 'jetson-1' } };
    const held = async (job: Partial<JobRow> = {}, asset: Partial<MediaAssetRow> = {}): Promise<JobHold> => {
      await seed(job, asset);
      const hold = await h.db.claimTranscode(REF, CLAIM);
      if (!hold) throw new Error('claim failed');
      return hold;
    };
    /** Another delivery takes the job over: the first holder's token no longer holds it. */
    const takeOver = async (): Promise<JobHold> => {
      const row = await h.job(JOB);
      clock.now = new Date(Date.parse(clock.now.toISOString()) + 100_000);
      const hold = await h.db.claimTranscode(REF, { from: { state: 'running', startedAt: row!.started_at }, attempt: 2, holder: { messageId: 'msg-2', worker: 'jetson-2' } });
      if (!hold) throw new Error('take-over failed');
      return hold;
    };

    describe('transcodeJob', () => {
      it('reads the job with its asset, the holder columns and the asset status', async () => {
        await seed({ attempt: 2, state: 'running', started_at: T0, payload: { holder: { message_id: 'm', worker: 'w' } } }, { bucket: 'second-bucket', base_org_storage_path: '' });
        const job = await h.db.transcodeJob(JOB);
        expect({ ...job, startedAt: instant(job?.startedAt), updatedAt: instant(job?.updatedAt) }).toEqual({
          id: JOB, orgId: ORG, mediaAssetId: ASSET, type: 'transcode', state: 'running', attempt: 2,
          startedAt: T0, updatedAt: T0, payload: { holder: { message_id: 'm', worker: 'w' } },
          asset: {
            id: ASSET, orgId: ORG, bucket: 'second-bucket', storagePath: `orgs/${ORG}/uploads/${ASSET}/raw/match.mp4`, baseOrgStoragePath: '',
            processingStage: 'uploaded', status: 'uploaded', streamingReady: false,
          },
        });
      });

      it('is null for a job that does not exist; a job without an asset has asset null', async () => {
        await expect(h.db.transcodeJob(JOB)).resolves.toBeNull();
        await h.seedJob(jobRow({ media_asset_id: null }));
        await expect(h.db.transcodeJob(JOB)).resolves.toMatchObject({ mediaAssetId: null, asset: null });
      });
    });

    describe('claimTranscode', () => {
      it('queued → running under a new token (started_at = updated_at = now), the holder in payload; asset → transcoding', async () => {
        await seed({ progress: 0.3 }, { transcode_progress: 40 });
        const hold = await h.db.claimTranscode(REF, { ...CLAIM, attempt: 3 });
        expect(hold).toEqual({ ref: REF, token: NOW });
        const job = await h.job(JOB);
        expect(job).toMatchObject({ state: 'running', attempt: 3, payload: { holder: { message_id: 'msg-1', worker: 'jetson-1' } } });
        expect([instant(job?.started_at), instant(job?.updated_at), Number(job?.progress)]).toEqual([NOW, NOW, 0]);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoding', transcode_progress: 0, status: 'uploaded' });
      });

      it('a second claim from queued finds the job taken: null, nothing written', async () => {
        await held();
        clock.now = new Date('2026-11-24T11:00:05.000Z');
        await expect(h.db.claimTranscode(REF, { ...CLAIM, holder: { messageId: 'msg-2', worker: 'jetson-2' } })).resolves.toBeNull();
        expect(instant((await h.job(JOB))?.started_at)).toBe(NOW);
      });

      it('a take-over needs the started_at it read: the right one wins, a stale one is refused', async () => {
        await held();
        await expect(h.db.claimTranscode(REF, { ...CLAIM, from: { state: 'running', startedAt: T0 } })).resolves.toBeNull();
        const next = await takeOver();
        expect(next.token).not.toBe(NOW);
        expect(await h.job(JOB)).toMatchObject({ state: 'running', attempt: 2, payload: { holder: { message_id: 'msg-2', worker: 'jetson-2' } } });
      });

      it('a take-over in the same millisecond still gets a token of its own', async () => {
        await held();
        const hold = await h.db.claimTranscode(REF, { ...CLAIM, from: { state: 'running', startedAt: NOW } });
        expect(hold?.token).toBe('2026-11-24T11:00:00.001Z');
      });

      it('a succeeded job whose output is gone is claimed again: running, finished_at cleared, even from a complete asset', async () => {
        await seed({ state: 'succeeded', progress: 1, started_at: T0, finished_at: T0 }, { processing_stage: 'complete', status: 'uploaded', streaming_ready: true });
        const hold = await h.db.claimTranscode(REF, { ...CLAIM, from: { state: 'succeeded', startedAt: T0 } });
        expect(hold?.token).toBe(NOW);
        expect(await h.job(JOB)).toMatchObject({ state: 'running', finished_at: null });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoding' });
      });

      it.each(['failed', 'canceled'] as const)('a %s job is never claimed', async (state) => {
        await seed({ state });
        await expect(h.db.claimTranscode(REF, CLAIM)).resolves.toBeNull();
        await expect(h.db.claimTranscode(REF, { ...CLAIM, from: { state: 'running', startedAt: null } })).resolves.toBeNull();
        expect(await h.job(JOB)).toMatchObject({ state, started_at: null });
      });

      it('an asset of another org is refused with a permanent DbError', async () => {
        await seed();
        await expect(h.db.claimTranscode({ ...REF, orgId: '0d5c8a3e-9999-4a1b-9c1d-000000000009' }, CLAIM)).rejects.toMatchObject({ transient: false, table: 'media_assets' });
      });
    });

    describe('the hold', () => {
      it('refreshHold moves updated_at while held, and says false once taken over', async () => {
        const hold = await held();
        clock.now = new Date('2026-11-24T11:00:15.000Z');
        await expect(h.db.refreshHold(hold)).resolves.toBe(true);
        expect(instant((await h.job(JOB))?.updated_at)).toBe('2026-11-24T11:00:15.000Z');
        await takeOver();
        await expect(h.db.refreshHold(hold)).resolves.toBe(false);
      });

      it('every write of a holder that was taken over is refused with HoldLostError and changes nothing', async () => {
        const hold = await held();
        const next = await takeOver();
        await h.db.reportProgress(next, { encodePercent: 30, jobFraction: 0.3 });
        for (const write of [
          () => h.db.reportProgress(hold, { encodePercent: 90, jobFraction: 0.9 }), () => h.db.markTranscoded(hold),
          () => h.db.publishStreaming(hold, STORYBOARD), () => h.db.succeedJob(hold, OUTCOME), () => h.db.completeAsset(hold),
        ]) await expect(write()).rejects.toBeInstanceOf(HoldLostError);
        await h.db.failTranscode(REF, hold, 'FFMPEG_ERROR', 'late');
        expect(await h.job(JOB)).toMatchObject({ state: 'running', error_code: null, attempt: 2 });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoding', transcode_progress: 30, streaming_ready: false });
      });
    });

    describe('reportProgress', () => {
      it('writes the encode percent (integer) and the job fraction (clamped to the CHECK)', async () => {
        const hold = await held();
        await h.db.reportProgress(hold, { encodePercent: 42.7, jobFraction: 0.4629 });
        expect(await h.asset(ASSET)).toMatchObject({ transcode_progress: 42 });
        expect(Number((await h.job(JOB))?.progress)).toBeCloseTo(0.4629, 4);
        await h.db.reportProgress(hold, { encodePercent: 100, jobFraction: 1.7 });
        expect(await h.asset(ASSET)).toMatchObject({ transcode_progress: 100 });
        expect(Number((await h.job(JOB))?.progress)).toBe(1);
      });

      it('says transcoding again when complete-upload moved the asset back to uploaded', async () => {
        const hold = await held();
        await h.patchAsset(ASSET, { processing_stage: 'uploaded', status: 'uploaded', transcode_progress: 12 });
        await h.db.reportProgress(hold, { encodePercent: 55, jobFraction: 0.5 });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoding', transcode_progress: 55 });
      });

      it('never moves a transcoded asset back', async () => {
        const hold = await held();
        await h.db.markTranscoded(hold);
        await h.db.reportProgress(hold, { encodePercent: 90, jobFraction: 0.9 });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoded', transcode_progress: 100 });
      });
    });

    describe('the success path, in the order of RUGBYCODEX.md', () => {
      it('transcoded → streaming ready with the storyboard → job succeeded → asset complete and ready', async () => {
        const hold = await held({}, { transcode_progress: 80 });
        await h.db.markTranscoded(hold);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'transcoded', transcode_progress: 100, streaming_ready: false });
        await h.db.publishStreaming(hold, STORYBOARD);
        expect(await h.asset(ASSET)).toMatchObject({
          processing_stage: 'transcoded', streaming_ready: true, status: 'uploaded',
          thumbnail_path: STORYBOARD.spriteKey, thumbnail_sprite_path: STORYBOARD.spriteKey, thumbnail_vtt_path: STORYBOARD.vttKey,
          thumbnail_frame_count: 11, thumbnail_interval_seconds: 6, thumbnail_width: 320, thumbnail_height: 180,
        });
        clock.now = new Date('2026-11-24T11:05:00.000Z');
        await h.db.succeedJob(hold, OUTCOME);
        const job = await h.job(JOB);
        expect(job).toMatchObject({ state: 'succeeded', error_code: null, error_message: null });
        expect(Number(job?.progress)).toBe(1);
        expect(instant(job?.finished_at)).toBe('2026-11-24T11:05:00.000Z');
        expect(job?.result).toEqual({ playlist: OUTCOME.playlistKey, renditions: OUTCOME.renditions, duration_seconds: 61.44 });
        await h.db.completeAsset(hold);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
        // Idempotent: the same holder completing again changes nothing.
        clock.now = new Date('2026-11-24T11:06:00.000Z');
        await h.db.completeAsset(hold);
        await h.db.succeedJob(hold, OUTCOME);
        expect(instant((await h.job(JOB))?.finished_at)).toBe('2026-11-24T11:05:00.000Z');
      });

      it('every step accepts an asset complete-upload moved back to uploaded: a good encode still ends complete', async () => {
        const hold = await held();
        const back = () => h.patchAsset(ASSET, { processing_stage: 'uploaded', status: 'uploaded' });
        await back();
        await h.db.markTranscoded(hold);
        await back();
        await h.db.publishStreaming(hold, null);
        expect(await h.asset(ASSET)).toMatchObject({ streaming_ready: true, thumbnail_path: null });
        await h.db.succeedJob(hold, OUTCOME);
        await back();
        await h.db.completeAsset(hold);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
      });

      it('an asset that is gone refuses the steps with a permanent DbError', async () => {
        const hold = await held();
        await h.patchAsset(ASSET, { org_id: '0d5c8a3e-9999-4a1b-9c1d-000000000009' });
        await expect(h.db.markTranscoded(hold)).rejects.toMatchObject({ transient: false, table: 'media_assets' });
      });
    });

    describe('failTranscode', () => {
      it('the held job failed with the code and a one-line message; asset failed, in processing_stage and status', async () => {
        const hold = await held();
        await h.db.failTranscode(REF, hold, 'FFMPEG_ERROR', 'ffmpeg exited with code 1\n  Invalid data found');
        const job = await h.job(JOB);
        expect(job).toMatchObject({ state: 'failed', error_code: 'FFMPEG_ERROR', error_message: 'ffmpeg exited with code 1 Invalid data found' });
        expect([instant(job?.finished_at), instant(job?.updated_at)]).toEqual([NOW, NOW]);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'failed', status: 'failed' });
      });

      it('error_message, which the admins read, holds no URL password or signed-URL token', async () => {
        const hold = await held();
        await h.db.failTranscode(REF, hold, 'DOWNLOAD_ERROR', 'GET https://b.s3.wasabisys.com/k.mp4?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=feedface01 via https://u:pa@ss@proxy.lan failed');
        expect((await h.job(JOB))?.error_message).toBe('GET https://b.s3.wasabisys.com/k.mp4?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED] via https://u:[REDACTED]@proxy.lan failed');
      });

      it('a queued job (every delivery failed before the start) fails too, without a hold', async () => {
        await seed();
        await h.db.failTranscode(REF, null, 'DB_ERROR', 'supabase down');
        expect(await h.job(JOB)).toMatchObject({ state: 'failed', error_code: 'DB_ERROR' });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'failed', status: 'failed' });
      });

      it('never touches a job held by someone else, a succeeded job or a complete asset', async () => {
        await seed({ state: 'running', started_at: T0 }, { processing_stage: 'transcoding' });
        await h.db.failTranscode(REF, null, 'UPLOAD_ERROR', 'not mine');
        expect(await h.job(JOB)).toMatchObject({ state: 'running', error_code: null });
        await h.patchJob(JOB, { state: 'succeeded', progress: 1 });
        await h.patchAsset(ASSET, { processing_stage: 'complete', status: 'ready', streaming_ready: true });
        await h.db.failTranscode(REF, null, 'UPLOAD_ERROR', 'late');
        expect(await h.job(JOB)).toMatchObject({ state: 'succeeded', error_code: null });
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'complete', status: 'ready' });
      });
    });

    describe('putting an asset right after another actor moved it', () => {
      it('restoreAsset: complete, ready and streaming_ready again, from wherever it was', async () => {
        await seed({ state: 'succeeded' }, { processing_stage: 'uploaded', status: 'uploaded', streaming_ready: false });
        await h.db.restoreAsset(REF);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'complete', status: 'ready', streaming_ready: true });
      });

      it('refailAsset: an asset moved back to uploaded says failed again; any other stage is left alone', async () => {
        await seed({ state: 'failed' }, { processing_stage: 'uploaded', status: 'uploaded' });
        await h.db.refailAsset(REF);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'failed', status: 'failed' });
        await h.patchAsset(ASSET, { processing_stage: 'complete', status: 'ready' });
        await h.db.refailAsset(REF);
        expect(await h.asset(ASSET)).toMatchObject({ processing_stage: 'complete', status: 'ready' });
      });
    });

    describe('the reconciler', () => {
      const OLD = '2026-11-24T10:30:00.000Z';
      it('lists transcode jobs queued, or running, not changed since the given times, oldest first', async () => {
        await seed({ state: 'queued', updated_at: OLD });
        const candidates = await h.db.requeueCandidates({ queuedBefore: '2026-11-24T10:45:00.000Z', runningBefore: '2026-11-24T10:00:00.000Z', limit: 10 });
        expect(candidates.map((c) => ({ ...c, updatedAt: instant(c.updatedAt) }))).toEqual([
          { jobId: JOB, mediaId: ASSET, orgId: ORG, state: 'queued', updatedAt: OLD, startedAt: null },
        ]);
        await expect(h.db.requeueCandidates({ queuedBefore: '2026-11-24T10:15:00.000Z', runningBefore: NOW, limit: 10 })).resolves.toEqual([]);
        await h.patchJob(JOB, { state: 'running', updated_at: OLD, started_at: T0 });
        expect((await h.db.requeueCandidates({ queuedBefore: NOW, runningBefore: NOW, limit: 10 })).map((c) => c.state)).toEqual(['running']);
      });

      it('markRequeued: one reconciler wins (updated_at still the one read); a running job goes back to queued', async () => {
        await seed({ state: 'running', updated_at: OLD, started_at: T0 });
        const [candidate] = await h.db.requeueCandidates({ queuedBefore: NOW, runningBefore: NOW, limit: 10 });
        await expect(h.db.markRequeued(candidate!, NOW)).resolves.toBe(true);
        await expect(h.db.markRequeued(candidate!, NOW)).resolves.toBe(false);
        const job = await h.job(JOB);
        expect(job).toMatchObject({ state: 'queued' });
        expect(instant(job?.updated_at)).toBe(NOW);
      });
    });

    describe('cleanup rows', () => {
      const A = '0d5c8a3e-aaaa-4a1b-9c1d-00000000000a';
      const B = '0d5c8a3e-bbbb-4a1b-9c1d-00000000000b';
      const C = '0d5c8a3e-cccc-4a1b-9c1d-00000000000c';

      it('lists the pending rows oldest first, with their bucket', async () => {
        await h.seedCleanupJob(cleanupRow({ id: A, created_at: '2026-11-24T09:00:00.000Z', bucket: 'second-bucket' }));
        await h.seedCleanupJob(cleanupRow({ id: B, created_at: '2026-11-24T08:00:00.000Z' }));
        await h.seedCleanupJob(cleanupRow({ id: C, created_at: '2026-11-24T07:00:00.000Z', processed_at: T0 }));
        await expect(h.db.pendingCleanupJobs()).resolves.toEqual([
          { id: B, mediaAssetId: B, assetOrgId: null, bucket: 'rugbycodex', storagePath: `orgs/${ORG}/uploads/${B}/raw/x.mp4` },
          { id: A, mediaAssetId: A, assetOrgId: null, bucket: 'second-bucket', storagePath: `orgs/${ORG}/uploads/${A}/raw/x.mp4` },
        ]);
      });

      it('gives each row its asset\'s org while the asset row still exists, null once it is gone', async () => {
        const OTHER_ORG = '0d5c8a3e-1111-4a1b-9c1d-0000000000ff';
        await h.seedAsset(assetRow({ id: A, org_id: OTHER_ORG, storage_path: `orgs/${OTHER_ORG}/uploads/${A}/raw/x.mp4` }));
        await h.seedCleanupJob(cleanupRow({ id: C, media_asset_id: A, created_at: '2026-11-24T07:00:00.000Z' }));
        await h.seedCleanupJob(cleanupRow({ id: B, created_at: '2026-11-24T08:00:00.000Z' }));
        expect((await h.db.pendingCleanupJobs()).map((j) => [j.id, j.mediaAssetId, j.assetOrgId])).toEqual([[C, A, OTHER_ORG], [B, B, null]]);
      });

      it('processed: processed_at set, error cleared; a second mark keeps the first time', async () => {
        await h.seedCleanupJob(cleanupRow({ id: A, error: 'earlier failure' }));
        await h.db.markCleanupProcessed(A);
        expect(await h.cleanupJob(A)).toMatchObject({ error: null });
        expect(instant((await h.cleanupJob(A))?.processed_at)).toBe(NOW);
        clock.now = new Date('2026-11-24T12:00:00.000Z');
        await h.db.markCleanupProcessed(A);
        expect(instant((await h.cleanupJob(A))?.processed_at)).toBe(NOW);
      });

      it('failed: a storage error keeps the row pending; an invalid path is final', async () => {
        await h.seedCleanupJob(cleanupRow({ id: A }));
        await h.seedCleanupJob(cleanupRow({ id: B }));
        await h.db.markCleanupFailed(A, 'S3 said\nslow down', { final: false });
        await h.db.markCleanupFailed(B, 'Invalid bucket or storage_path.', { final: true });
        expect(await h.cleanupJob(A)).toMatchObject({ processed_at: null, error: 'S3 said slow down' });
        expect(await h.cleanupJob(B)).toMatchObject({ error: 'Invalid bucket or storage_path.' });
        expect(instant((await h.cleanupJob(B))?.processed_at)).toBe(NOW);
        expect((await h.db.pendingCleanupJobs()).map((j) => j.id)).toEqual([A]);
        // A processed row is never marked failed afterwards.
        await h.db.markCleanupFailed(B, 'late', { final: false });
        expect(await h.cleanupJob(B)).toMatchObject({ error: 'Invalid bucket or storage_path.' });
      });
    });

    describe('segment_insight_audio_deletions (coach audio)', () => {
      const A = '0d5c8a3e-aaaa-4a1b-9c1d-0000000000a1';
      const B = '0d5c8a3e-bbbb-4a1b-9c1d-0000000000b1';
      const C = '0d5c8a3e-cccc-4a1b-9c1d-0000000000c1';
      const D = '0d5c8a3e-dddd-4a1b-9c1d-0000000000d1';
      const seedRow = (id: string, more: Partial<CoachAudioRow> = {}): Promise<void> =>
        h.seedCoachAudio({ id, coachAudioUrl: `https://cdn.rugbycodex.com/${coachAudioKey(id)}`, createdAt: T0, ...more });

      it('lists the pending rows oldest first (id breaking ties), with what locates their object and the attempts so far', async () => {
        await seedRow(A, { createdAt: '2026-11-24T09:00:00.000Z', attemptCount: 2, lastError: 'read ECONNRESET' });
        await seedRow(B, { createdAt: '2026-11-24T08:00:00.000Z', storageBucket: 'rugbycodex-archive', storageKey: coachAudioKey(B) });
        await seedRow(C, { createdAt: '2026-11-24T07:00:00.000Z', status: 'completed', processedAt: T0 });
        await seedRow(D, { createdAt: '2026-11-24T07:00:00.000Z', status: 'processing' });
        await expect(h.db.pendingCoachAudioDeletions()).resolves.toEqual([
          { id: B, coachAudioUrl: `https://cdn.rugbycodex.com/${coachAudioKey(B)}`, storageBucket: 'rugbycodex-archive', storageKey: coachAudioKey(B), attemptCount: 0 },
          { id: A, coachAudioUrl: `https://cdn.rugbycodex.com/${coachAudioKey(A)}`, storageBucket: null, storageKey: null, attemptCount: 2 },
        ]);
      });

      it('completed: status, one more attempt, error cleared, processed_at; a second settle of the same read writes nothing', async () => {
        await seedRow(A, { attemptCount: 1, lastError: 'read ECONNRESET' });
        await expect(h.db.settleCoachAudioDeletion(A, 1, { status: 'completed', attemptCount: 2, lastError: null, processed: true })).resolves.toBe(true);
        expect(await h.coachAudio(A)).toMatchObject({ status: 'completed', attemptCount: 2, lastError: null, processedAt: NOW });
        clock.now = new Date('2026-11-24T12:00:00.000Z');
        await expect(h.db.settleCoachAudioDeletion(A, 1, { status: 'failed', attemptCount: 2, lastError: 'late', processed: true })).resolves.toBe(false);
        expect(await h.coachAudio(A)).toMatchObject({ status: 'completed', attemptCount: 2, lastError: null, processedAt: NOW });
      });

      it('a retry stays pending with its error (one line) and no processed_at; a failure is final', async () => {
        await seedRow(A);
        await seedRow(B);
        await h.db.settleCoachAudioDeletion(A, 0, { status: 'pending', attemptCount: 1, lastError: 'S3 said\nslow down (attempt 1 of 5)', processed: false });
        await h.db.settleCoachAudioDeletion(B, 0, { status: 'failed', attemptCount: 1, lastError: 'unsafe coach audio location: …; nothing deleted', processed: true });
        expect(await h.coachAudio(A)).toMatchObject({ status: 'pending', attemptCount: 1, lastError: 'S3 said slow down (attempt 1 of 5)', processedAt: null });
        expect(await h.coachAudio(B)).toMatchObject({ status: 'failed', attemptCount: 1, processedAt: NOW });
        expect((await h.db.pendingCoachAudioDeletions()).map((r) => [r.id, r.attemptCount])).toEqual([[A, 1]]);
      });

      it('a row another worker or the edge function changed since it was read is left as it is', async () => {
        await seedRow(A, { attemptCount: 2 }); // someone counted an attempt after our read of 1
        await seedRow(B, { status: 'processing' });
        const done = { status: 'completed', attemptCount: 2, lastError: null, processed: true } as const;
        await expect(h.db.settleCoachAudioDeletion(A, 1, done)).resolves.toBe(false);
        await expect(h.db.settleCoachAudioDeletion(B, 0, done)).resolves.toBe(false);
        await expect(h.db.settleCoachAudioDeletion(C, 0, done)).resolves.toBe(false); // no such row
        expect(await h.coachAudio(A)).toMatchObject({ status: 'pending', attemptCount: 2, processedAt: null });
        expect(await h.coachAudio(B)).toMatchObject({ status: 'processing', attemptCount: 0 });
      });
    });

    describe('compute_devices (the device heartbeat)', () => {
      const beat = (at: string, more: Partial<ComputeDeviceRow> = {}): ComputeDeviceRow => ({
        name: 'jetson-1', status: 'online', lastHeartbeatAt: at, updatedAt: at, lastError: null, hostname: 'orin-a', cpuCores: 6,
        memoryTotalMb: 7650, memoryUsedMb: 2650, cpuUtilization: 51.5, gpuUtilization: 12.5, temperatureC: 46.8, jetpackVersion: '6.0', ...more,
      });

      it('the first beat inserts the row; the next updates it by name', async () => {
        await h.db.upsertComputeDevice(beat(T0));
        expect(await h.device('jetson-1')).toEqual(expect.objectContaining(beat(T0)));
        await h.db.upsertComputeDevice(beat(NOW, { status: 'degraded', lastError: 's3: unreachable for 12 s', cpuUtilization: 3.2, gpuUtilization: null }));
        expect(await h.device('jetson-1')).toEqual(expect.objectContaining(beat(NOW, { status: 'degraded', lastError: 's3: unreachable for 12 s', cpuUtilization: 3.2, gpuUtilization: null })));
        expect(await h.device('jetson-2')).toBeUndefined();
      });

      it('sets only the fields a beat carries: the offline beat of a stop keeps the last figures', async () => {
        await h.db.upsertComputeDevice(beat(T0, { gpuModel: 'NVIDIA Ampere (Orin, tegra234)', status: 'degraded', lastError: 'hardware decode: failed' }));
        await h.db.upsertComputeDevice({ name: 'jetson-1', status: 'offline', lastHeartbeatAt: NOW, updatedAt: NOW, lastError: null });
        expect(await h.device('jetson-1')).toEqual(expect.objectContaining({
          ...beat(T0, { gpuModel: 'NVIDIA Ampere (Orin, tegra234)' }), status: 'offline', lastHeartbeatAt: NOW, updatedAt: NOW, lastError: null,
        }));
      });

      it('an aborted signal rejects and writes nothing', async () => {
        await expect(h.db.upsertComputeDevice(beat(T0), { signal: AbortSignal.abort() })).rejects.toThrow();
        expect(await h.device('jetson-1')).toBeUndefined();
      });
    });
  });
}

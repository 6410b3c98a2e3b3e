// The memory MediaDb (local mode) against the shared behaviour, plus its test helpers.
import { describe, expect, it } from '@jest/globals';
import { MemoryMediaDb } from '../../src/adapters/db/memory.js';
import type { MediaAssetRow, JobRow } from '../../src/adapters/db/schema.js';
import type { ComputeDeviceRow } from '../../src/ports/index.js';
import { ASSET, JOB, ORG, assetRow, describeMediaDbConformance, jobRow } from '../integration/mediadb.conformance.js';

describeMediaDbConformance('memory', async (clock) => {
  const db = new MemoryMediaDb({ now: () => clock.now });
  const find = <T extends { id: string }>(list: T[], id: string): T | undefined => list.find((row) => row.id === id);
  return {
    db,
    seedAsset: async (row) => void db.seedAsset(row as MediaAssetRow),
    seedJob: async (row) => void db.seedJob(row as JobRow),
    seedCleanupJob: async (row) => void db.seedCleanupJob(row as never),
    patchAsset: async (id, patch) => void db.seedAsset({ ...find(db.rows().assets, id)!, ...patch }),
    patchJob: async (id, patch) => void db.seedJob({ ...find(db.rows().jobs, id)!, ...patch }),
    asset: async (id) => find(db.rows().assets, id),
    job: async (id) => find(db.rows().jobs, id),
    cleanupJob: async (id) => find(db.rows().cleanupJobs, id),
    seedCoachAudio: async (row) => void db.seedCoachAudioDeletion(row),
    coachAudio: async (id) => db.coachAudioDeletion(id),
    // A column never written reads as null, as in the table.
    device: async (name) => {
      const row = db.computeDevice(name);
      return row && { gpuModel: null, cudaVersion: null, jetpackVersion: null, ...row } as Partial<ComputeDeviceRow>;
    },
  };
});

describe('MemoryMediaDb helpers', () => {
  it('seeds rows as complete-upload leaves them and hands out copies', () => {
    const db = new MemoryMediaDb({ now: () => new Date('2026-01-01T00:00:00.000Z') });
    const asset = db.seedAsset({ id: ASSET, org_id: ORG, storage_path: `orgs/${ORG}/uploads/${ASSET}/raw/m.mp4` });
    const job = db.seedJob({ id: JOB, org_id: ORG, media_asset_id: ASSET });
    expect(asset).toMatchObject({ status: 'uploaded', processing_stage: 'uploaded', bucket: 'rugbycodex', file_name: 'm.mp4', streaming_ready: false, created_at: '2026-01-01T00:00:00.000Z' });
    expect(job).toMatchObject({ type: 'transcode', state: 'queued', progress: 0, attempt: 1 });
    expect(db.seedCleanupJob({ bucket: 'rugbycodex', storage_path: 'orgs/o/uploads/a/raw/x.mp4' }).id).toMatch(/^[0-9a-f-]{36}$/);
    const rows = db.rows();
    rows.jobs[0]!.state = 'failed';
    expect(db.rows().jobs[0]!.state).toBe('queued');
  });

  it('refuses a job whose asset does not exist, as the foreign key does', () => {
    const db = new MemoryMediaDb();
    expect(() => db.seedJob(jobRow() as JobRow)).toThrow(/media_asset_id .* is not in media_assets/);
    db.seedAsset(assetRow() as MediaAssetRow);
    expect(db.seedJob(jobRow() as JobRow).id).toBe(JOB);
  });
});

// The memory MediaDb (local mode) against the shared behaviour, plus its test helpers.
import { describe, expect, it } from '@jest/globals';
import { MemoryMediaDb } from '../../src/adapters/db/memory.js';
import { ASSET, JOB, assetRow, describeMediaDbConformance, jobRow } from '../integration/mediadb.conformance.js';

describeMediaDbConformance('memory', async (clock) => {
  const db = new MemoryMediaDb({ now: () => clock.now });
  const find = <T extends { id: string }>(list: T[], id: string): T | undefined => list.find((row) => row.id === id);
  return {
    db,
    seedAsset: (row) => void db.seedAsset(row),
    seedJob: (row) => void db.seedJob(row),
    seedCleanupJob: (row) => void db.seedCleanupJob(row),
    asset: (id) => find(db.rows().assets, id),
    job: (id) => find(db.rows().jobs, id),
    cleanupJob: (id) => find(db.rows().cleanupJobs, id),
  };
});

describe('MemoryMediaDb helpers', () => {
  it('seeds rows with the migration defaults and hands out copies', () => {
    const db = new MemoryMediaDb({ now: () => new Date('2026-01-01T00:00:00.000Z') });
    const asset = db.seedAsset({ id: ASSET });
    const job = db.seedJob({ id: JOB, media_asset_id: ASSET });
    expect(asset).toMatchObject({ status: 'uploaded', renditions: null, created_at: '2026-01-01T00:00:00.000Z' });
    expect(job).toMatchObject({ status: 'pending', progress: 0, attempts: 0, worker_id: null });
    expect(db.seedCleanupJob({ storage_path: 'orgs/o/uploads/a/raw/x.mp4' }).id).toMatch(/^[0-9a-f-]{36}$/);
    const rows = db.rows();
    rows.jobs[0]!.status = 'failed';
    expect(db.rows().jobs[0]!.status).toBe('pending');
  });

  it('refuses a job whose asset does not exist, as the foreign key does', () => {
    const db = new MemoryMediaDb();
    expect(() => db.seedJob(jobRow())).toThrow(/media_asset_id .* is not in media_assets/);
    db.seedAsset(assetRow());
    expect(db.seedJob(jobRow()).id).toBe(JOB);
  });
});

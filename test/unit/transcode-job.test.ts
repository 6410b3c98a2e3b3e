import { describe, expect, it } from '@jest/globals';
import { checkJob } from '../../src/domain/rugbycodex/transcode-job.js';
import type { TranscodeAsset, TranscodeJob } from '../../src/domain/rugbycodex/transcode-job.js';
import type { JobRef } from '../../src/domain/rugbycodex/transcode-message.js';

const JOB = '3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b';
const MEDIA = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const ORG = '11111111-2222-4333-8444-555555555555';
const OTHER_MEDIA = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const OTHER_ORG = '99999999-8888-4777-8666-555555555555';

const ref: JobRef = { jobId: JOB, mediaId: MEDIA, orgId: ORG };
const asset: TranscodeAsset = {
  id: MEDIA, orgId: ORG, bucket: 'rugbycodex', storagePath: `orgs/${ORG}/uploads/${MEDIA}/raw/match.mp4`,
  baseOrgStoragePath: `orgs/${ORG}/uploads/`, processingStage: 'uploaded', status: 'uploaded', streamingReady: false,
};
const job: TranscodeJob = {
  id: JOB, orgId: ORG, mediaAssetId: MEDIA, type: 'transcode', state: 'queued', attempt: 1,
  startedAt: null, updatedAt: '2026-11-24T10:00:00.000Z', payload: null, asset,
};

describe('checkJob', () => {
  it('accepts the job the message names, returning it whole', () => {
    expect(checkJob(ref, job)).toEqual({ ok: true, job });
  });

  it.each<[string, TranscodeJob | null, string[]]>([
    ['no such job', null, [JOB]],
    ['a job of another type', { ...job, type: 'analysis' }, [JOB, '"analysis"']],
    ['a job for another media asset', { ...job, mediaAssetId: OTHER_MEDIA }, [JOB, OTHER_MEDIA, MEDIA]],
    ['a job for no media asset', { ...job, mediaAssetId: null }, [JOB, 'none', MEDIA]],
    ['a job of another org', { ...job, orgId: OTHER_ORG }, [JOB, OTHER_ORG, ORG]],
    ['a job whose asset row is gone', { ...job, asset: null }, [MEDIA, JOB]],
    ['an asset of another org', { ...job, asset: { ...asset, orgId: OTHER_ORG } }, [MEDIA, OTHER_ORG, ORG]],
  ])('refuses %s, the reason naming the ids', (_what, row, named) => {
    const r = checkJob(ref, row);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    for (const id of named) expect(r.reason).toContain(id);
    expect(r.reason).not.toContain('\n');
  });

  it('checks the type before the ids (a foreign job is named as such)', () => {
    const r = checkJob(ref, { ...job, type: 'analysis', mediaAssetId: OTHER_MEDIA });
    expect(r).toEqual({ ok: false, reason: `job ${JOB} is a "analysis" job, not a transcode` });
  });
});

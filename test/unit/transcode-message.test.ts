import { describe, expect, it } from '@jest/globals';
import { jobRefOf, transcodeMessageSchema } from '../../src/domain/rugbycodex/transcode-message.js';
import { contentTypeFor } from '../../src/domain/content-types.js';
import { parseMessageBody } from '../../src/runtime/validation.js';

const JOB = '3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b';
const MEDIA = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const ORG = '11111111-2222-4333-8444-555555555555';

describe('transcodeMessageSchema (the complete-upload message)', () => {
  const sent = { job_id: JOB, media_id: MEDIA, org_id: ORG, type: 'transcode' };

  it('accepts the message as complete-upload sends it', () => {
    expect(transcodeMessageSchema.parse(sent)).toEqual(sent);
  });

  it('accepts it without type', () => {
    const { type: _type, ...untyped } = sent;
    expect(transcodeMessageSchema.parse(untyped)).toEqual(untyped);
  });

  it('tolerates extra fields (the sender may grow)', () => {
    const grown = { ...sent, requested_at: '2026-02-01T00:00:00Z', bucket: 'rugbycodex', attempt: 2 };
    expect(transcodeMessageSchema.safeParse(grown).success).toBe(true);
  });

  it('accepts any 8-4-4-4-12 hex id, as Postgres does (no RFC version bits, upper case)', () => {
    expect(transcodeMessageSchema.safeParse({ ...sent, job_id: '00000000-0000-0000-0000-000000000001' }).success).toBe(true);
    expect(transcodeMessageSchema.safeParse({ ...sent, media_id: MEDIA.toUpperCase() }).success).toBe(true);
  });

  it('gives the ids every write is filtered by', () => {
    expect(jobRefOf(transcodeMessageSchema.parse(sent))).toEqual({ jobId: JOB, mediaId: MEDIA, orgId: ORG });
  });

  it.each<[unknown, string]>([
    [{ ...sent, type: 'cleanup' }, 'another job type'],
    [{ ...sent, type: 'TRANSCODE' }, 'type in another case'],
    [{ ...sent, type: null }, 'type null'],
    [{ ...sent, job_id: 'job-1' }, 'job_id not a guid'],
    [{ ...sent, media_id: 42 }, 'media_id a number'],
    [{ ...sent, org_id: `${ORG}0` }, 'org_id one digit too long'],
    [{ ...sent, job_id: ` ${JOB}` }, 'job_id with a space'],
    [{ job_id: JOB, org_id: ORG, type: 'transcode' }, 'media_id missing'],
    [{ media_id: MEDIA, org_id: ORG }, 'job_id missing'],
    [{ job_id: JOB, media_id: MEDIA }, 'org_id missing'],
    [{ job_id: JOB, media_asset_id: MEDIA, key: 'orgs/o/uploads/1/raw/a.mp4' }, 'the old message shape'],
    [[sent], 'an array'],
    ['transcode', 'a string'],
    [null, 'null'],
    [42, 'a number'],
  ])('rejects %j (%s)', (body) => {
    expect(transcodeMessageSchema.safeParse(body).success).toBe(false);
  });

  it('gives a one-line reason naming each bad field through parseMessageBody', () => {
    const result = parseMessageBody(JSON.stringify({ job_id: 'job-1', media_id: MEDIA, type: 'cleanup' }), transcodeMessageSchema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/^schema: /);
    expect(result.reason).toMatch(/job_id: /);
    expect(result.reason).toMatch(/org_id: /);
    expect(result.reason).toMatch(/type: .*transcode/);
    expect(result.reason).not.toMatch(/media_id/);
    expect(result.reason).not.toContain('\n');
  });

  it('says a body that is not an object is not one', () => {
    const result = parseMessageBody('[1]', transcodeMessageSchema);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^schema: .*expected object/) });
  });
});

describe('contentTypeFor', () => {
  const S = 'orgs/o/uploads/1/streaming';
  it.each([
    [`${S}/index.m3u8`, 'application/vnd.apple.mpegurl'],
    [`${S}/720p/index.m3u8`, 'application/vnd.apple.mpegurl'],
    [`${S}/720p/seg_00000.ts`, 'video/mp2t'],
    [`${S}/720p/seg_00000.m4s`, 'video/iso.segment'],
    [`${S}/720p/init_0.mp4`, 'video/mp4'],
    [`${S}/thumbnails/storyboard_000.jpg`, 'image/jpeg'],
    [`${S}/thumbnails/STORYBOARD_001.JPG`, 'image/jpeg'],
    [`${S}/thumbnails/storyboard.vtt`, 'text/vtt'],
    [`${S}/notes.txt`, 'application/octet-stream'],
    [`${S}/noext`, 'application/octet-stream'],
    ['orgs/o.ts/uploads/1/streaming/noext', 'application/octet-stream'],
    ['.ts', 'application/octet-stream'],
  ])('%s → %s', (key, type) => {
    expect(contentTypeFor(key)).toBe(type);
  });
});

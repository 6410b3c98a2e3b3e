import { describe, expect, it } from '@jest/globals';
import { masterKey, parseRawKey, posterKey, streamingPrefix, transcodeMessageSchema } from '../../src/domain/transcode-message.js';
import { contentTypeFor } from '../../src/domain/content-types.js';
import { parseMessageBody } from '../../src/runtime/validation.js';

const JOB = '3f2b8c1e-7a4d-4e5f-9b6a-0c1d2e3f4a5b';
const ASSET = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const KEY = 'orgs/org-1/uploads/42/raw/match final.mp4';

describe('parseRawKey', () => {
  it('splits the raw key into org, upload id and file', () => {
    expect(parseRawKey(KEY)).toEqual({ org: 'org-1', uploadId: '42', file: 'match final.mp4' });
  });

  it.each([
    ['', 'empty'],
    ['orgs/o/uploads/42/raw/', 'empty file'],
    ['orgs//uploads/42/raw/a.mp4', 'empty org'],
    ['orgs/o/uploads//raw/a.mp4', 'empty id'],
    ['orgs/../uploads/42/raw/a.mp4', '..'],
    ['orgs/o/uploads/42/raw/..', '.. as the file'],
    ['orgs/o/uploads/./raw/a.mp4', '.'],
    ['orgs/o/uploads/42/raw/sub/a.mp4', 'one segment too many'],
    ['orgs/o/uploads/42/a.mp4', 'no raw folder'],
    ['org/o/uploads/42/raw/a.mp4', 'wrong literal'],
    ['orgs/o/upload/42/raw/a.mp4', 'wrong literal'],
    ['orgs/o/uploads/42/streaming/a.mp4', 'not raw'],
    ['/orgs/o/uploads/42/raw/a.mp4', 'absolute'],
    ['orgs/o/uploads/42/raw/a\u0000.mp4', 'NUL'],
    ['orgs/o/uploads/42/raw/a\\b.mp4', 'backslash'],
  ])('refuses %j (%s)', (key) => {
    expect(parseRawKey(key)).toBeNull();
  });
});

describe('output keys', () => {
  it('derives streaming, master and poster keys from org and upload id', () => {
    expect(streamingPrefix('org-1', '42')).toBe('orgs/org-1/uploads/42/streaming/');
    expect(masterKey('org-1', '42')).toBe('orgs/org-1/uploads/42/streaming/master.m3u8');
    expect(posterKey('org-1', '42')).toBe('orgs/org-1/uploads/42/thumbnails/poster.jpg');
  });
});

describe('transcodeMessageSchema', () => {
  const valid = { job_id: JOB, media_asset_id: ASSET, key: KEY };

  it('accepts the message, with or without a bucket', () => {
    expect(transcodeMessageSchema.parse(valid)).toEqual(valid);
    expect(transcodeMessageSchema.parse({ ...valid, bucket: 'rugbycodex-media' })).toEqual({ ...valid, bucket: 'rugbycodex-media' });
  });

  it('accepts any 8-4-4-4-12 hex id, as Postgres does', () => {
    const id = '00000000-0000-0000-0000-000000000001';
    expect(transcodeMessageSchema.safeParse({ ...valid, job_id: id }).success).toBe(true);
  });

  it.each<[unknown, string]>([
    [{ ...valid, extra: 1 }, 'unknown key'],
    [{ ...valid, job_id: 'job-1' }, 'job_id not a uuid'],
    [{ ...valid, media_asset_id: 42 }, 'asset id a number'],
    [{ job_id: JOB, key: KEY }, 'asset id missing'],
    [{ ...valid, key: 'uploads/a.mp4' }, 'key of another shape'],
    [{ ...valid, key: 'orgs/o/uploads/42/raw/../x' }, 'key with ..'],
    [{ ...valid, bucket: '' }, 'empty bucket'],
    [{ ...valid, bucket: 'Not_A_Bucket' }, 'invalid bucket name'],
  ])('rejects %j (%s)', (body) => {
    expect(transcodeMessageSchema.safeParse(body).success).toBe(false);
  });

  it('gives a one-line reason naming the field through parseMessageBody', () => {
    const result = parseMessageBody(JSON.stringify({ ...valid, key: 'nope', surplus: true }), transcodeMessageSchema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/key: must be orgs\/\{org\}\/uploads\/\{id\}\/raw\/\{file\}/);
    expect(result.reason).toMatch(/surplus/);
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['orgs/o/uploads/1/streaming/master.m3u8', 'application/vnd.apple.mpegurl'],
    ['orgs/o/uploads/1/streaming/720p/index.m3u8', 'application/vnd.apple.mpegurl'],
    ['orgs/o/uploads/1/streaming/720p/seg_00000.ts', 'video/mp2t'],
    ['orgs/o/uploads/1/streaming/720p/seg_00000.m4s', 'video/iso.segment'],
    ['orgs/o/uploads/1/streaming/720p/init_0.mp4', 'video/mp4'],
    ['orgs/o/uploads/1/thumbnails/poster.jpg', 'image/jpeg'],
    ['orgs/o/uploads/1/thumbnails/POSTER.JPG', 'image/jpeg'],
    ['orgs/o/uploads/1/streaming/notes.txt', 'application/octet-stream'],
    ['orgs/o/uploads/1/streaming/noext', 'application/octet-stream'],
    ['orgs/o.ts/uploads/1/streaming/noext', 'application/octet-stream'],
    ['.ts', 'application/octet-stream'],
  ])('%s → %s', (key, type) => {
    expect(contentTypeFor(key)).toBe(type);
  });
});

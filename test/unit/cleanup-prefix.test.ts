import { describe, expect, it } from '@jest/globals';
import { validBucketName, cleanupPrefix, cleanupTarget, unsafePathError } from '../../src/domain/rugbycodex/cleanup-prefix.js';
import { CLEANUP_JITTER, CLEANUP_RETRY_SECONDS, nextPassDelayMs } from '../../src/domain/rugbycodex/cleanup-schedule.js';

const ORG = '0d5c8a3e-1111-4a1b-9c1d-000000000001';
const ID = '0d5c8a3e-2222-4a1b-9c1d-000000000002';

describe('cleanupPrefix', () => {
  it.each([
    [`orgs/${ORG}/uploads/${ID}/raw/video.mp4`, `orgs/${ORG}/uploads/${ID}/`],
    [`orgs/${ORG}/uploads/${ID}/streaming/master.m3u8`, `orgs/${ORG}/uploads/${ID}/`],
    ['orgs/o1/uploads/42/raw/My Match (final).mp4', 'orgs/o1/uploads/42/'],
    ['orgs/a/uploads/ab/raw/x.mp4', 'orgs/a/uploads/ab/'],
    ['orgs/é/uploads/🏉/raw/x.mp4', 'orgs/é/uploads/🏉/'],
    ['orgs/a/uploads/..b/raw/x', 'orgs/a/uploads/..b/'],
  ])('%s → %s', (path, prefix) => {
    expect(cleanupPrefix(path)).toMatchObject({ ok: true, prefix });
  });

  it('returns the org and upload id it kept', () => {
    expect(cleanupPrefix(`orgs/${ORG}/uploads/${ID}/raw/v.mp4`)).toEqual({ ok: true, prefix: `orgs/${ORG}/uploads/${ID}/`, org: ORG, uploadId: ID });
  });

  it('always ends with "/", so a sibling whose name shares the prefix is never matched', () => {
    const r = cleanupPrefix('orgs/a/uploads/ab/raw/x.mp4');
    if (!r.ok) throw new Error(r.reason);
    expect(r.prefix.endsWith('/')).toBe(true);
    expect('orgs/a/uploads/abc/raw/x.mp4'.startsWith(r.prefix)).toBe(false);
    expect('orgs/a/uploads/ab/streaming/720p/index.m3u8'.startsWith(r.prefix)).toBe(true);
  });

  // Each would have deleted something else under the seed's "drop the last two segments".
  const refused: Array<[string, unknown, RegExp]> = [
    ['empty', '', /is empty/],
    ['null (the column is nullable)', null, /is null/],
    ['a number', 42, /is number/],
    ['a bare file name', 'x.mp4', /has 1 segment,/],
    ['an org-level file', 'orgs/a/x.mp4', /has 3 segments/],
    ['the upload folder with no file', 'orgs/a/uploads/b', /has 4 segments/],
    ['one segment short (would be orgs/a/uploads/)', 'orgs/a/uploads/b/x.mp4', /has 5 segments/],
    ['one segment long (would be …/raw/ only, or widen)', 'orgs/a/uploads/b/raw/sub/x.mp4', /has 7 segments/],
    ['parent segment', '../orgs/a/uploads/b/raw/x', /"\.\." segment/],
    ['bare ../', '../', /"\.\." segment/],
    ['.. as the upload id', 'orgs/a/uploads/../raw/x.mp4', /"\.\." segment/],
    ['. as the org', 'orgs/./uploads/b/raw/x.mp4', /"\." segment/],
    ['empty org and id', 'orgs//uploads//raw/x', /empty path segment/],
    ['trailing slash (no file)', 'orgs/a/uploads/b/raw/', /empty path segment/],
    ['absolute', '/orgs/a/uploads/b/raw/x.mp4', /absolute path/],
    ['backslashes', 'orgs\\a\\uploads\\b\\raw\\x.mp4', /backslash/],
    ['backslash traversal in a segment', 'orgs/a/uploads/..\\..\\/raw/x.mp4', /backslash/],
    ['NUL', 'orgs/a/uploads/b\0/raw/x.mp4', /NUL/],
    ['newline', 'orgs/a/uploads/b\n/raw/x.mp4', /control character/],
    ['another top folder', 'users/a/uploads/b/raw/x.mp4', /must be orgs\/<org>\/uploads\/<id>/],
    ['capitalised fixed word', 'Orgs/a/uploads/b/raw/x.mp4', /must be orgs/],
    ['uploads misspelt', 'orgs/a/upload/b/raw/x.mp4', /must be orgs/],
    ['a URL', 's3://bucket/orgs/a/uploads/b/raw/x.mp4', /empty path segment/],
    ['a bucket-qualified key', 'bucket/orgs/a/uploads/b/raw/x.mp4', /has 7 segments/],
    ['a blank org', 'orgs/ /uploads/b/raw/x.mp4', /blank or space-padded/],
    ['a space-padded id', 'orgs/a/uploads/b /raw/x.mp4', /blank or space-padded/],
  ];

  it.each(refused)('refuses %s', (_name, path, reason) => {
    const r = cleanupPrefix(path);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('the row error says the path, the reason and that nothing was deleted, on one line', () => {
    const r = cleanupPrefix('orgs/a/x.mp4');
    if (r.ok) throw new Error('accepted');
    expect(unsafePathError('orgs/a/x.mp4', r.reason)).toBe('unsafe path "orgs/a/x.mp4": has 3 segments, must be orgs/<org>/uploads/<id>/<folder>/<file>; nothing deleted');
    expect(unsafePathError('a\nb', 'x')).toBe('unsafe path "a\\nb": x; nothing deleted');
    expect(unsafePathError(null, 'is null, not a path')).toBe('unsafe path null: is null, not a path; nothing deleted');
    expect(unsafePathError('y'.repeat(500), 'r').length).toBeLessThan(240);
  });
});

describe('cleanupTarget', () => {
  const OTHER_ORG = '0d5c8a3e-9999-4a1b-9c1d-000000000009';
  const OTHER_ID = '0d5c8a3e-8888-4a1b-9c1d-000000000008';
  const path = `orgs/${ORG}/uploads/${ID}/raw/video.mp4`;

  it('is the folder of the row\'s own asset, whether or not the asset row is still there', () => {
    expect(cleanupTarget({ storagePath: path, mediaAssetId: ID, assetOrgId: null })).toEqual({ ok: true, prefix: `orgs/${ORG}/uploads/${ID}/`, org: ORG, uploadId: ID });
    expect(cleanupTarget({ storagePath: path, mediaAssetId: ID, assetOrgId: ORG })).toMatchObject({ ok: true, prefix: `orgs/${ORG}/uploads/${ID}/` });
  });

  it.each<[string, { storagePath: unknown; mediaAssetId: unknown; assetOrgId: string | null }, string]>([
    ['another asset\'s folder (the asset deleted)', { storagePath: `orgs/${ORG}/uploads/${OTHER_ID}/raw/v.mp4`, mediaAssetId: ID, assetOrgId: null },
      `folder orgs/${ORG}/uploads/${OTHER_ID}/ is not the one of the row's asset ${ID}; nothing deleted`],
    ['another org\'s asset folder', { storagePath: `orgs/${OTHER_ORG}/uploads/${OTHER_ID}/raw/v.mp4`, mediaAssetId: ID, assetOrgId: null },
      `folder orgs/${OTHER_ORG}/uploads/${OTHER_ID}/ is not the one of the row's asset ${ID}; nothing deleted`],
    ['its asset id under another org than the asset\'s', { storagePath: `orgs/${OTHER_ORG}/uploads/${ID}/raw/v.mp4`, mediaAssetId: ID, assetOrgId: ORG },
      `folder orgs/${OTHER_ORG}/uploads/${ID}/ is in org ${OTHER_ORG}, but asset ${ID} belongs to org ${ORG}; nothing deleted`],
    ['a sibling whose name starts with the id', { storagePath: `orgs/${ORG}/uploads/${ID}0/raw/v.mp4`, mediaAssetId: ID, assetOrgId: null },
      `folder orgs/${ORG}/uploads/${ID}0/ is not the one of the row's asset ${ID}; nothing deleted`],
    ['no asset named', { storagePath: path, mediaAssetId: null, assetOrgId: null }, 'the row names no asset (media_asset_id null); nothing deleted'],
    ['an empty asset id', { storagePath: path, mediaAssetId: '', assetOrgId: null }, 'the row names no asset (media_asset_id ""); nothing deleted'],
  ])('refuses %s, with the row error saying so on one line', (_what, row, error) => {
    expect(cleanupTarget(row)).toEqual({ ok: false, error });
  });

  it('an unsafe path is refused as before, whatever the asset', () => {
    expect(cleanupTarget({ storagePath: 'orgs/a/x.mp4', mediaAssetId: ID, assetOrgId: null })).toEqual({
      ok: false, error: 'unsafe path "orgs/a/x.mp4": has 3 segments, must be orgs/<org>/uploads/<id>/<folder>/<file>; nothing deleted',
    });
  });
});

describe('nextPassDelayMs', () => {
  it('is the interval within ±5 %', () => {
    expect(nextPassDelayMs(21_600, { random: () => 0.5 })).toBe(21_600_000);
    expect(nextPassDelayMs(21_600, { random: () => 0 })).toBe(21_600_000 * (1 - CLEANUP_JITTER));
    expect(nextPassDelayMs(21_600, { random: () => 0.999999 })).toBeCloseTo(21_600_000 * (1 + CLEANUP_JITTER), -2);
    for (let i = 0; i < 100; i++) {
      const ms = nextPassDelayMs(100);
      expect(ms).toBeGreaterThanOrEqual(95_000);
      expect(ms).toBeLessThanOrEqual(105_000);
    }
  });

  it('retries sooner when the pass could not read its jobs, never later than the interval', () => {
    expect(nextPassDelayMs(21_600, { outage: true, random: () => 0.5 })).toBe(CLEANUP_RETRY_SECONDS * 1000);
    expect(nextPassDelayMs(60, { outage: true, random: () => 0.5 })).toBe(60_000);
  });

  it('clamps a misbehaving random source', () => {
    expect(nextPassDelayMs(100, { random: () => 7 })).toBe(105_000);
    expect(nextPassDelayMs(100, { random: () => -1 })).toBe(95_000);
  });
});

describe('validBucketName', () => {
  it.each(['rugbycodex', 'rugbycodex-archive', 'media.2026', 'a1b'])('accepts %s', (name) => {
    expect(validBucketName(name)).toBe(true);
  });

  it.each([
    ['', 'empty'], ['ab', 'too short'], ['a'.repeat(64), 'too long'], ['Rugby', 'upper case'], ['rugby_codex', 'underscore'],
    ['-rugby', 'leading hyphen'], ['rugby.', 'trailing dot'], ['a..b', 'two dots'], ['a.-b', 'dot hyphen'], ['a-.b', 'hyphen dot'],
    ['192.168.1.1', 'an IP address'], ['xn--bucket', 'xn-- prefix'], ['sthree-x', 'sthree- prefix'], ['bucket-s3alias', '-s3alias suffix'],
    ['bucket--ol-s3', '--ol-s3 suffix'], [null, 'not a string'],
  ] as Array<[unknown, string]>)('refuses %j (%s)', (name) => {
    expect(validBucketName(name)).toBe(false);
  });
});

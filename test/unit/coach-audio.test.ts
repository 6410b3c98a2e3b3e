import { describe, expect, it } from '@jest/globals';
import { coachAudioKeyProblem, coachAudioLocation, settleCoachAudio } from '../../src/domain/rugbycodex/coach-audio.js';

const ORG = '0d5c8a3e-1111-4a1b-9c1d-000000000001';
const SEG = '0d5c8a3e-5555-4a1b-9c1d-000000000005';
const KEY = `orgs/${ORG}/insights/segments/${SEG}/coach.mp3`;
const CDN = `https://cdn.rugbycodex.com/${KEY}`;
const row = (r: { url?: string; bucket?: string | null; key?: string | null }) => ({ coachAudioUrl: r.url ?? CDN, storageBucket: r.bucket ?? null, storageKey: r.key ?? null });

describe('coachAudioLocation', () => {
  it('storage_key in storage_bucket when the row has them', () => {
    expect(coachAudioLocation(row({ bucket: 'rugbycodex-archive', key: KEY }))).toEqual({ ok: true, bucket: 'rugbycodex-archive', key: KEY });
  });

  it('a key without a bucket is in rugbycodex (generate-coach-audio\'s bucket); so is a blank bucket', () => {
    expect(coachAudioLocation(row({ key: KEY }))).toEqual({ ok: true, bucket: 'rugbycodex', key: KEY });
    expect(coachAudioLocation(row({ bucket: '  ', key: KEY }))).toEqual({ ok: true, bucket: 'rugbycodex', key: KEY });
  });

  it('without a key: the CDN URL generate-coach-audio stores gives the key as its path, in rugbycodex', () => {
    expect(coachAudioLocation(row({}))).toEqual({ ok: true, bucket: 'rugbycodex', key: KEY });
    expect(coachAudioLocation(row({ key: '   ', url: `  ${CDN}?v=2#t  ` }))).toEqual({ ok: true, bucket: 'rugbycodex', key: KEY });
  });

  it('a virtual-hosted S3 URL names the bucket in its host (dots and all)', () => {
    expect(coachAudioLocation(row({ url: `https://media-eu.s3.eu-central-1.wasabisys.com/${KEY}` }))).toEqual({ ok: true, bucket: 'media-eu', key: KEY });
    expect(coachAudioLocation(row({ url: `https://rc.media.s3.amazonaws.com/${KEY}` }))).toEqual({ ok: true, bucket: 'rc.media', key: KEY });
  });

  it('a key without "/" and no bucket is taken for a truncated one, as the edge function does: the URL wins', () => {
    expect(coachAudioLocation(row({ key: 'coach.mp3' }))).toEqual({ ok: true, bucket: 'rugbycodex', key: KEY });
  });

  it('the URL path as written is the key: "X/../Y" is refused, never resolved into segment Y\'s key', () => {
    const other = '0d5c8a3e-6666-4a1b-9c1d-000000000006';
    for (const path of [`orgs/${ORG}/insights/segments/${SEG}/../${other}/coach.mp3`, `orgs/${ORG}/insights/segments/${SEG}/%2e%2e/${other}/coach.mp3`, `orgs/${ORG}/insights/segments/./${other}/coach.mp3`]) {
      const loc = coachAudioLocation(row({ url: `https://cdn.rugbycodex.com/${path}` }));
      expect([path, loc.ok]).toEqual([path, false]);
    }
    expect(coachAudioLocation(row({ url: `https://cdn.rugbycodex.com/orgs\\${ORG}/insights/segments/${SEG}/coach.mp3` }))).toMatchObject({ ok: false });
  });

  it('the URL path is the key unescaped, so an escaped "/" or "." cannot slip past the shape', () => {
    expect(coachAudioLocation(row({ url: `https://cdn.rugbycodex.com/orgs/${ORG}/insights/segments/a%2F..%2Fb/coach.mp3` }))).toMatchObject({ ok: false });
    expect(coachAudioLocation(row({ url: 'https://cdn.rugbycodex.com/orgs/%E0%A4%A/x' }))).toEqual({ ok: false, reason: expect.stringMatching(/malformed path/) });
  });

  it.each([
    ['a path-style S3 URL (the bucket would be taken for a folder)', row({ url: `https://s3.us-east-1.wasabisys.com/rugbycodex/${KEY}` }), /must be orgs\/<org>\/insights/],
    ['a URL with no path', row({ url: 'https://cdn.rugbycodex.com/' }), /has no path/],
    ['not a URL', row({ url: 'coach audio' }), /is not a URL/],
    ['nothing at all', row({ url: '' }), /no storage_key and no coach_audio_url/],
    ['an upload folder, not a coach track', row({ key: `orgs/${ORG}/uploads/${SEG}/raw/match.mp4` }), /must be orgs/],
    ['the whole org', row({ key: `orgs/${ORG}/` }), /empty path segment|segments/],
    ['another file name', row({ key: `orgs/${ORG}/insights/segments/${SEG}/coach.wav` }), /must be orgs/],
    ['a ".." segment', row({ key: `orgs/${ORG}/insights/segments/../coach.mp3` }), /"\.\." segment/],
    ['".." inside a segment', row({ key: `orgs/${ORG}/insights/segments/a..b/coach.mp3` }), /contains "\.\."/],
    ['an empty segment', row({ key: `orgs//insights/segments/${SEG}/coach.mp3` }), /empty path segment/],
    ['a padded segment', row({ key: `orgs/ ${ORG}/insights/segments/${SEG}/coach.mp3` }), /space-padded segment/],
    ['a padded key', row({ key: ` ${KEY}` }), /must be orgs|space-padded/],
    ['a control character', row({ key: `orgs/${ORG}/insights/segments/${SEG}\n/coach.mp3` }), /control character/],
    ['a leading slash', row({ key: `/${KEY}` }), /absolute path/],
    ['a backslash', row({ key: `orgs/${ORG}/insights/segments/${SEG}\\x/coach.mp3` }), /backslash/],
    ['a bucket that is no bucket name', row({ bucket: 'Rugby Codex', key: KEY }), /bucket "Rugby Codex" is not a bucket name/],
    ['a padded bucket', row({ bucket: ' rugbycodex', key: KEY }), /is not a bucket name/],
  ])('refuses %s', (_what, r, reason) => {
    const loc = coachAudioLocation(r);
    expect(loc.ok).toBe(false);
    if (!loc.ok) {
      expect(loc.reason).toMatch(reason);
      expect(loc.reason).not.toContain('\n');
    }
  });

  it('coachAudioKeyProblem: null for exactly a coach track key', () => {
    expect(coachAudioKeyProblem(KEY)).toBeNull();
    expect(coachAudioKeyProblem('orgs/o/insights/segments/s/coach.mp3')).toBeNull();
  });
});

describe('settleCoachAudio', () => {
  it('deleted: completed, one more attempt, error cleared, processed', () => {
    expect(settleCoachAudio(2, { kind: 'deleted' }, 5)).toEqual({ status: 'completed', attemptCount: 3, lastError: null, processed: true });
  });

  it('unsafe: failed at once, saying why and that nothing was deleted', () => {
    expect(settleCoachAudio(0, { kind: 'unsafe', reason: 'key "x" has 1 segment' }, 5)).toEqual({
      status: 'failed', attemptCount: 1, lastError: 'unsafe coach audio location: key "x" has 1 segment; nothing deleted', processed: true,
    });
  });

  it('a storage error stays pending with the error, until the last allowed attempt fails it', () => {
    const err = { kind: 'storage-error', message: 'read ECONNRESET' } as const;
    expect(settleCoachAudio(0, err, 5)).toEqual({ status: 'pending', attemptCount: 1, lastError: 'read ECONNRESET (attempt 1 of 5)', processed: false });
    expect(settleCoachAudio(3, err, 5)).toEqual({ status: 'pending', attemptCount: 4, lastError: 'read ECONNRESET (attempt 4 of 5)', processed: false });
    expect(settleCoachAudio(4, err, 5)).toEqual({ status: 'failed', attemptCount: 5, lastError: 'read ECONNRESET (attempt 5 of 5: given up)', processed: true });
    expect(settleCoachAudio(0, err, 1)).toMatchObject({ status: 'failed', processed: true });
  });
});

import { describe, expect, it } from '@jest/globals';
import { playbackBase, streamingLayout } from '../../src/domain/rugbycodex/streaming-layout.js';

const ORG = '11111111-2222-4333-8444-555555555555';
const MEDIA = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const DEFAULT = `orgs/${ORG}/uploads/`;

describe('playbackBase (as get-playback-playlist derives it)', () => {
  it.each<[string | null | undefined, string, string]>([
    [DEFAULT, DEFAULT, 'the normal base'],
    [`orgs/${ORG}/uploads`, DEFAULT, 'no trailing slash'],
    [`//orgs/${ORG}/uploads/`, DEFAULT, 'leading slashes dropped'],
    [`  orgs/${ORG}/uploads/  `, DEFAULT, 'surrounding blanks trimmed'],
    ['', DEFAULT, 'empty'],
    ['   \t', DEFAULT, 'whitespace only'],
    [null, DEFAULT, 'null'],
    [undefined, DEFAULT, 'undefined'],
    ['clubs/x/', 'clubs/x/', 'a custom base, not under orgs/'],
    ['clubs/x', 'clubs/x/', 'a custom base without the slash'],
  ])('%j → %j (%s)', (base, expected) => {
    expect(playbackBase(base, ORG)).toBe(expected);
  });

  it('trims before it drops leading slashes, as the player does (" /a" → "a/")', () => {
    expect(playbackBase(' /a', ORG)).toBe('a/');
  });
});

describe('streamingLayout', () => {
  it('puts the player\'s index.m3u8 and the thumbnails under {base}{media_id}/streaming/', () => {
    const r = streamingLayout({ baseOrgStoragePath: DEFAULT, orgId: ORG, mediaId: MEDIA });
    expect(r).toEqual({
      ok: true,
      layout: {
        prefix: `${DEFAULT}${MEDIA}/streaming/`,
        playlistKey: `${DEFAULT}${MEDIA}/streaming/index.m3u8`,
        thumbnailsPrefix: `${DEFAULT}${MEDIA}/streaming/thumbnails/`,
      },
    });
  });

  it('follows a custom or blank base', () => {
    const custom = streamingLayout({ baseOrgStoragePath: '/clubs/x', orgId: ORG, mediaId: MEDIA });
    expect(custom.ok && custom.layout.playlistKey).toBe(`clubs/x/${MEDIA}/streaming/index.m3u8`);
    const blank = streamingLayout({ baseOrgStoragePath: ' ', orgId: ORG, mediaId: MEDIA });
    expect(blank.ok && blank.layout.prefix).toBe(`${DEFAULT}${MEDIA}/streaming/`);
  });

  it.each([
    ['orgs/../uploads/', /"orgs\/\.\.\/uploads\/.*\/streaming\/" has a "\.\." segment/],
    ['a//b/', /"a\/\/b\/.*\/streaming\/" has an empty path segment/],
    ['/', /is an absolute path/], // "/" trimmed of its slash is empty, and the player adds one back
    ['orgs/o\\x/', /contains a backslash/],
  ])('refuses the unsafe base %j with a reason naming the folder', (base, reason) => {
    const r = streamingLayout({ baseOrgStoragePath: base, orgId: ORG, mediaId: MEDIA });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/^output folder /);
    expect(r.reason).toMatch(reason);
  });
});

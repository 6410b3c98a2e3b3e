import { describe, expect, it } from '@jest/globals';
import { assetFolder, sourceKeyProblem } from '../../src/domain/rugbycodex/asset-folder.js';

const ORG = '11111111-2222-4333-8444-555555555555';
const MEDIA = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
const OTHER = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const asset = (storagePath: string) => ({ id: MEDIA, orgId: ORG, storagePath });

describe('assetFolder', () => {
  it('is orgs/{org_id}/uploads/{media_id}/', () => {
    expect(assetFolder(ORG, MEDIA)).toBe(`orgs/${ORG}/uploads/${MEDIA}/`);
  });
});

describe('sourceKeyProblem', () => {
  it.each([
    `orgs/${ORG}/uploads/${MEDIA}/raw/match.mp4`,
    `orgs/${ORG}/uploads/${MEDIA}/raw/My Match (final).mp4`,
    `orgs/${ORG}/uploads/${MEDIA}/other.mov`,
  ])('reads a key in the asset\'s own folder: %s', (key) => {
    expect(sourceKeyProblem(asset(key))).toBeNull();
  });

  it.each<[string, string, RegExp]>([
    ['another org\'s video', `orgs/${OTHER}/uploads/${OTHER}/raw/match.mp4`, /is outside the asset's folder orgs\/.*\/uploads\/.*\/$/],
    ['another asset of the same org', `orgs/${ORG}/uploads/${OTHER}/raw/match.mp4`, /is outside the asset's folder/],
    ['the asset id under another org', `orgs/${OTHER}/uploads/${MEDIA}/raw/match.mp4`, /is outside the asset's folder/],
    ['a sibling whose name starts with the id', `orgs/${ORG}/uploads/${MEDIA}0/raw/match.mp4`, /is outside the asset's folder/],
    ['the folder itself', `orgs/${ORG}/uploads/${MEDIA}/`, /empty path segment|is outside/],
    ['a key under base_org_storage_path only', `teams/${ORG}/${MEDIA}/raw/match.mp4`, /is outside the asset's folder/],
    ['a way out of the folder', `orgs/${ORG}/uploads/${MEDIA}/../${OTHER}/raw/match.mp4`, /"\.\." segment/],
    ['an absolute path', `/orgs/${ORG}/uploads/${MEDIA}/raw/match.mp4`, /absolute path/],
    ['an empty key', '', /is empty/],
  ])('refuses %s, naming the key in one line', (_what, key, reason) => {
    const problem = sourceKeyProblem(asset(key));
    expect(problem).toMatch(reason);
    expect(problem).toContain(JSON.stringify(key));
    expect(problem).not.toContain('\n');
  });
});

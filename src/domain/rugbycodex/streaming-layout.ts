// Where a transcode's output goes (RUGBYCODEX.md "Where the output goes"): the player's
// `get-playback-playlist` function derives the playlist key from the asset row alone, so
// this derivation must be exactly its own — base_org_storage_path trimmed (or
// orgs/{org_id}/uploads/ when blank), leading slashes dropped, a trailing slash added —
// then {base}{media_id}/streaming/index.m3u8, the storyboard in streaming/thumbnails/.
import { safePrefixProblem } from '../object-keys.js';

export const TOP_PLAYLIST = 'index.m3u8';
export const THUMBNAILS_FOLDER = 'thumbnails';

export interface StreamingLayout {
  /** e.g. orgs/{org}/uploads/{media}/streaming/ (with the trailing slash). */
  readonly prefix: string;
  /** The multivariant playlist the player asks for. */
  readonly playlistKey: string;
  /** e.g. …/streaming/thumbnails/ */
  readonly thumbnailsPrefix: string;
}

export type LayoutResult = { readonly ok: true; readonly layout: StreamingLayout } | { readonly ok: false; readonly reason: string };

/** The player's base: `base_org_storage_path` as get-playback-playlist normalises it. */
export function playbackBase(baseOrgStoragePath: string | null | undefined, orgId: string): string {
  const trimmed = String(baseOrgStoragePath ?? '').trim();
  const base = (trimmed || `orgs/${orgId}/uploads/`).replace(/^\/+/, '');
  return base.endsWith('/') ? base : `${base}/`;
}

export function streamingLayout(asset: { baseOrgStoragePath: string | null; orgId: string; mediaId: string }): LayoutResult {
  const prefix = `${playbackBase(asset.baseOrgStoragePath, asset.orgId)}${asset.mediaId}/streaming/`;
  // A base the player would accept can still be one no object key may have ("a//b", "..").
  const problem = safePrefixProblem(prefix);
  if (problem !== null) return { ok: false, reason: `output folder ${JSON.stringify(prefix)} ${problem}` };
  return { ok: true, layout: { prefix, playlistKey: `${prefix}${TOP_PLAYLIST}`, thumbnailsPrefix: `${prefix}${THUMBNAILS_FOLDER}/` } };
}

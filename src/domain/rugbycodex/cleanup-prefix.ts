// Which folder a media_cleanup_jobs row may delete (issue 5, seed 001). The seed took the
// storage path minus its last two segments and deleted whatever that prefix matched, so a
// malformed path could have emptied an org or the whole bucket. Here the result must be
// exactly one asset's folder, `orgs/<org>/uploads/<id>/`, and the row's own asset's
// (issue 20), or the row is refused.
import { safeKeyProblem } from '../object-keys.js';

export type CleanupPrefix =
  | { readonly ok: true; readonly prefix: string; readonly org: string; readonly uploadId: string }
  | { readonly ok: false; readonly reason: string };

const SHAPE = 'must be orgs/<org>/uploads/<id>/<folder>/<file>';

/**
 * `orgs/{org}/uploads/{id}/raw/video.mp4` → `orgs/{org}/uploads/{id}/`, always with the
 * trailing slash (so `…/uploads/ab/` never matches `…/uploads/abc/…`). Anything else —
 * more or fewer segments, other fixed words, empty / "." / ".." / blank segments, a
 * leading slash, control characters, backslashes, a blank or space-padded org or id — is refused with the reason.
 */
export function cleanupPrefix(storagePath: unknown): CleanupPrefix {
  if (typeof storagePath !== 'string') return refuse(`is ${storagePath === null ? 'null' : typeof storagePath}, not a path`);
  // The object-key rules: empty, absolute, NUL, backslash, control characters, "." / ".." / empty segments.
  const problem = safeKeyProblem(storagePath);
  if (problem) return refuse(problem);
  const parts = storagePath.split('/');
  if (parts.length !== 6) return refuse(`has ${parts.length} segment${parts.length === 1 ? '' : 's'}, ${SHAPE}`);
  const [orgs, org, uploads, uploadId] = parts as [string, string, string, string, string, string];
  if (orgs !== 'orgs' || uploads !== 'uploads') return refuse(SHAPE);
  // A blank or padded org or id is never one the app wrote; refusing costs nothing, guessing could.
  const blank = [org, uploadId].find((p) => p.trim() !== p || p.trim() === '');
  if (blank !== undefined) return refuse(`has a blank or space-padded segment ${JSON.stringify(blank)}`);
  return { ok: true, prefix: `orgs/${org}/uploads/${uploadId}/`, org, uploadId };
}

/** The row's error text for a refused path: says what was refused and that nothing was deleted. */
export function unsafePathError(storagePath: unknown, reason: string): string {
  const shown = typeof storagePath === 'string' ? JSON.stringify(storagePath.length > 200 ? `${storagePath.slice(0, 200)}…` : storagePath) : String(storagePath);
  return `unsafe path ${shown}: ${reason}; nothing deleted`;
}

/** What the cleanup knows of a row's asset: media_asset_id, and its org while its media_assets row still exists. */
export interface CleanupOwner {
  readonly mediaAssetId: unknown;
  /** media_assets.org_id; null once the asset is deleted (the usual case: the row is written as it goes). */
  readonly assetOrgId: string | null;
}

/**
 * The folder a row may delete: its storage path's (cleanupPrefix), and only when that is the
 * row's own asset's, `orgs/{its org}/uploads/{media_asset_id}/`. The storage path is whatever
 * complete-upload's caller sent, so it may name another asset's folder, another org's even;
 * the asset id is the database's. Otherwise the row's error, saying nothing was deleted.
 */
export function cleanupTarget(row: CleanupOwner & { readonly storagePath: unknown }): (CleanupPrefix & { ok: true }) | { readonly ok: false; readonly error: string } {
  const target = cleanupPrefix(row.storagePath);
  if (!target.ok) return { ok: false, error: unsafePathError(row.storagePath, target.reason) };
  const problem = ownerProblem(target, row);
  return problem === null ? target : { ok: false, error: `${problem}; nothing deleted` };
}

function ownerProblem(target: { prefix: string; org: string; uploadId: string }, owner: CleanupOwner): string | null {
  const { mediaAssetId, assetOrgId } = owner;
  // media_asset_id is NOT NULL live: a row without one is no deletion the app asked for.
  if (typeof mediaAssetId !== 'string' || mediaAssetId === '') return `the row names no asset (media_asset_id ${JSON.stringify(mediaAssetId ?? null)})`;
  if (target.uploadId !== mediaAssetId) return `folder ${target.prefix} is not the one of the row's asset ${mediaAssetId}`;
  if (assetOrgId !== null && target.org !== assetOrgId) return `folder ${target.prefix} is in org ${target.org}, but asset ${mediaAssetId} belongs to org ${assetOrgId}`;
  return null;
}

function refuse(reason: string): CleanupPrefix {
  return { ok: false, reason };
}

// S3's general-purpose bucket naming rules (Wasabi follows them): a row naming anything else
// can never be deleted from, so it is refused for good rather than retried every pass.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_ADDRESS = /^\d{1,3}(\.\d{1,3}){3}$/;
const RESERVED = [/^xn--/, /^sthree-/, /^amzn-s3-demo-/, /-s3alias$/, /--ol-s3$/, /\.mrap$/, /--x-s3$/];

export function validBucketName(bucket: unknown): boolean {
  if (typeof bucket !== 'string' || !BUCKET_NAME.test(bucket) || IP_ADDRESS.test(bucket)) return false;
  if (bucket.includes('..') || bucket.includes('.-') || bucket.includes('-.')) return false;
  return !RESERVED.some((r) => r.test(bucket));
}

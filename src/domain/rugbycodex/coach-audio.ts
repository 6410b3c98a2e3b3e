// Coach audio to delete (RUGBYCODEX.md "The other actors": segment_insight_audio_deletions,
// drained today by the cleanup-coach-audio edge function). Where a row's object is, read as
// the edge function reads it, but checked: the only key this may delete is one the
// generate-coach-audio function writes, orgs/{org}/insights/segments/{segment}/coach.mp3, in
// a real bucket; and what a deletion's outcome makes of the row.
import { validBucketName } from './cleanup-prefix.js';
import { safeKeyProblem } from '../object-keys.js';

/** A pending row, as read. */
export interface CoachAudioDeletion {
  readonly id: string;
  readonly coachAudioUrl: string;
  readonly storageBucket: string | null;
  readonly storageKey: string | null;
  /** As read: every write of the row is conditional on it, so two workers never count one attempt twice. */
  readonly attemptCount: number;
}

/** Where generate-coach-audio puts every coach track (its DEFAULT_BUCKET), and so where a row naming no bucket points. */
export const COACH_AUDIO_DEFAULT_BUCKET = 'rugbycodex';

export type CoachAudioLocation =
  | { readonly ok: true; readonly bucket: string; readonly key: string }
  | { readonly ok: false; readonly reason: string };

const SHAPE = 'must be orgs/<org>/insights/segments/<segment>/coach.mp3';

/**
 * storage_key in storage_bucket; else (no key, or a key without a "/" and no bucket: the edge
 * function takes that for a truncated key) the location in coach_audio_url: a virtual-hosted
 * `{bucket}.s3.…` host names the bucket, any other host (the CDN) none, and the key is the
 * path. No bucket → rugbycodex. Then the bucket must be a bucket name and the key exactly a
 * coach track's key, or nothing is to be deleted.
 */
export function coachAudioLocation(row: Pick<CoachAudioDeletion, 'coachAudioUrl' | 'storageBucket' | 'storageKey'>): CoachAudioLocation {
  const bucket = row.storageBucket ?? '';
  const key = row.storageKey ?? '';
  const truncated = bucket.trim() === '' && !key.includes('/') && (row.coachAudioUrl ?? '').includes('/');
  const found = key.trim() !== '' && !truncated ? { bucket, key } : fromUrl(row.coachAudioUrl);
  if ('reason' in found) return { ok: false, reason: found.reason };
  const named = found.bucket.trim() === '' ? COACH_AUDIO_DEFAULT_BUCKET : found.bucket;
  if (!validBucketName(named)) return { ok: false, reason: `bucket ${JSON.stringify(named)} is not a bucket name` };
  const problem = coachAudioKeyProblem(found.key);
  return problem === null ? { ok: true, bucket: named, key: found.key } : { ok: false, reason: `key ${quote(found.key)} ${problem}` };
}

/** Why `key` is not a coach track's key, or null when it is one. */
export function coachAudioKeyProblem(key: string): string | null {
  const unsafe = safeKeyProblem(key);
  if (unsafe !== null) return unsafe;
  if (key.includes('..')) return 'contains ".."';
  const parts = key.split('/');
  if (parts.length !== 6) return `has ${parts.length} segment${parts.length === 1 ? '' : 's'}, ${SHAPE}`;
  const [orgs, org, insights, segments, segment, file] = parts as [string, string, string, string, string, string];
  if (orgs !== 'orgs' || insights !== 'insights' || segments !== 'segments' || file !== 'coach.mp3') return SHAPE;
  const blank = [org, segment].find((p) => p.trim() !== p || p === '');
  return blank === undefined ? null : `has a blank or space-padded segment ${JSON.stringify(blank)}`;
}

function fromUrl(url: string | null): { bucket: string; key: string } | { reason: string } {
  const text = (url ?? '').trim();
  if (text === '') return { reason: 'no storage_key and no coach_audio_url' };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { reason: `coach_audio_url ${quote(text)} is not a URL` };
  }
  let key: string;
  try {
    // The path as written, unescaped: URL parsing would resolve "X/../Y" into another
    // segment's key (and read "\" as "/"), and a row must never delete what it does not name.
    const written = text.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i, '').split(/[?#]/)[0] ?? '';
    key = decodeURIComponent(written.replace(/^\/+/, ''));
  } catch {
    return { reason: `coach_audio_url ${quote(text)} has a malformed path` };
  }
  if (key === '') return { reason: `coach_audio_url ${quote(text)} has no path` };
  const s3 = parsed.host.indexOf('.s3.');
  return { bucket: s3 > 0 ? parsed.host.slice(0, s3) : '', key };
}

/** The row's error for a location that is refused: says why and that nothing was deleted. */
export function unsafeLocationError(reason: string): string {
  return `unsafe coach audio location: ${reason}; nothing deleted`;
}

/** What became of one row's deletion. */
export type CoachAudioOutcome =
  | { readonly kind: 'deleted' }
  /** The location is refused: nothing was deleted and nothing ever will be. */
  | { readonly kind: 'unsafe'; readonly reason: string }
  /** Storage failed (unreachable, a per-key error): worth another try. */
  | { readonly kind: 'storage-error'; readonly message: string };

/** The row's next state: its status, attempt_count, last_error, and whether processed_at is set now. */
export interface CoachAudioSettlement {
  readonly status: 'completed' | 'failed' | 'pending';
  readonly attemptCount: number;
  readonly lastError: string | null;
  readonly processed: boolean;
}

/**
 * Every outcome counts one attempt. Deleted → completed; unsafe → failed at once; a storage
 * error → pending, retried next pass, until the `maxAttempts`-th → failed. completed and
 * failed set processed_at.
 */
export function settleCoachAudio(attemptCount: number, outcome: CoachAudioOutcome, maxAttempts: number): CoachAudioSettlement {
  const attempts = attemptCount + 1;
  switch (outcome.kind) {
    case 'deleted':
      return { status: 'completed', attemptCount: attempts, lastError: null, processed: true };
    case 'unsafe':
      return { status: 'failed', attemptCount: attempts, lastError: unsafeLocationError(outcome.reason), processed: true };
    case 'storage-error':
      return attempts >= maxAttempts
        ? { status: 'failed', attemptCount: attempts, lastError: `${outcome.message} (attempt ${attempts} of ${maxAttempts}: given up)`, processed: true }
        : { status: 'pending', attemptCount: attempts, lastError: `${outcome.message} (attempt ${attempts} of ${maxAttempts})`, processed: false };
  }
}

function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

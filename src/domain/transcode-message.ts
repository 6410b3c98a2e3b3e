// The RugbyCodex transcode job (issue 4, seed 001): one SQS message per uploaded raw
// video. The key is parsed here, once, so every output key is derived from the same
// org and upload id the raw file sits under, and a key of any other shape is refused.
// Named imports: `z` drags every zod locale into the executable (hundreds of kB to parse at start-up).
import { guid, strictObject, string, type output } from 'zod';
import { safeKeyProblem } from './object-keys.js';

export interface RawKey {
  org: string;
  uploadId: string;
  file: string;
}

/** `orgs/{org}/uploads/{id}/raw/{file}` → its parts; null for any other shape. */
export function parseRawKey(key: string): RawKey | null {
  // The object-key rules reject "..", ".", empty segments, control characters and the like.
  if (typeof key !== 'string' || safeKeyProblem(key) !== null) return null;
  const parts = key.split('/');
  if (parts.length !== 6) return null;
  const [orgs, org, uploads, uploadId, raw, file] = parts as [string, string, string, string, string, string];
  if (orgs !== 'orgs' || uploads !== 'uploads' || raw !== 'raw') return null;
  return { org, uploadId, file };
}

/** Where the HLS output of one upload goes, with the trailing slash. */
export function streamingPrefix(org: string, uploadId: string): string {
  return `orgs/${org}/uploads/${uploadId}/streaming/`;
}

export function masterKey(org: string, uploadId: string): string {
  return `${streamingPrefix(org, uploadId)}master.m3u8`;
}

export function posterKey(org: string, uploadId: string): string {
  return `orgs/${org}/uploads/${uploadId}/thumbnails/poster.jpg`;
}

// S3's bucket naming rules (Wasabi follows them): a bad name is the message's fault.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export const transcodeMessageSchema = strictObject({
  // guid, not uuid: Postgres accepts any 8-4-4-4-12 hex id, so must we (z.uuid wants RFC version bits).
  job_id: guid(),
  media_asset_id: guid(),
  key: string().refine((key) => parseRawKey(key) !== null, {
    message: 'must be orgs/{org}/uploads/{id}/raw/{file} (non-empty segments, no "." or "..")',
  }),
  bucket: string().regex(BUCKET_NAME, 'must be an S3 bucket name').optional(),
});

export type TranscodeMessage = output<typeof transcodeMessageSchema>;

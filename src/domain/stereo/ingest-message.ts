// The ingest queue's body (b622b25, STEREO-SPOT-MAIN.md §4, §6.6):
// `{"source_type":"youtube","job_id":"<id>","source_url":"<url>"}`, compact, from the web UI's
// "from URL" forms (routers/jobs.py@b622b25:198-202,263-264).
//
// Upstream parses it as a pydantic union discriminated on source_type (models.py@b622b25:
// 111-134) and acks a body it cannot parse (ingest.py:253-256). Whether a body without
// source_type parses there is unknown; here it does (youtube is the only type). Extra keys
// are ignored (pydantic's default). Beyond upstream, for bodies the web UI never sends:
// - job_id must be a job id our keys can hold (keys.ts jobIdProblem), not "";
// - source_url must be an http(s) URL: it becomes a yt-dlp argument, and yt-dlp also opens
//   other schemes (a file:// URL would read the worker's own files).
// A refusal keeps the job id when the body had a usable one, so the role may mark that job failed.
import { jobIdProblem } from './keys.js';

export const INGEST_SOURCE_TYPES = ['youtube'] as const;
export type IngestSourceType = (typeof INGEST_SOURCE_TYPES)[number];

export type IngestMessageParse =
  | { ok: true; jobId: string; sourceUrl: string; sourceType: IngestSourceType }
  | { ok: false; reason: string; jobId: string | null };

/** Longest source URL taken (a YouTube URL is under 100 characters). */
const MAX_URL_LENGTH = 2048;

/** Parses an SQS body. Never throws. */
export function parseIngestBody(body: string): IngestMessageParse {
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch (err) {
    return refuse(`body is not JSON (${(err as Error).message})`, null);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('body is not a JSON object', null);
  const fields = value as Record<string, unknown>;
  const rawId = fields['job_id'];
  if (typeof rawId !== 'string') return refuse('job_id is missing or not a string', null);
  const idProblem = jobIdProblem(rawId);
  if (idProblem !== null) return refuse(idProblem, null);
  const jobId = rawId;
  const type = 'source_type' in fields ? fields['source_type'] : 'youtube';
  if (typeof type !== 'string' || !(INGEST_SOURCE_TYPES as readonly string[]).includes(type)) {
    return refuse(`source_type ${JSON.stringify(type)} is not one this worker ingests (${INGEST_SOURCE_TYPES.join(', ')})`, jobId);
  }
  const url = fields['source_url'];
  if (typeof url !== 'string' || url === '') return refuse('source_url is missing or not a string', jobId);
  const urlProblem = sourceUrlProblem(url);
  if (urlProblem !== null) return refuse(urlProblem, jobId);
  return { ok: true, jobId, sourceUrl: url, sourceType: type as IngestSourceType };
}

/** Why `url` may not be handed to yt-dlp, or null. */
export function sourceUrlProblem(url: string): string | null {
  if (url.length > MAX_URL_LENGTH) return `source_url is longer than ${MAX_URL_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(url)) return 'source_url holds whitespace or control characters';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'source_url is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `source_url must be http(s), not ${parsed.protocol.slice(0, -1)}`;
  if (parsed.hostname === '') return 'source_url has no host';
  return null;
}

function refuse(reason: string, jobId: string | null): IngestMessageParse {
  return { ok: false, reason: `ingest message: ${reason}`, jobId };
}

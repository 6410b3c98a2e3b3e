// The reassembly queue's body (STEREO-SPOT.md §Messages): exactly `{"job_id":"<id>"}`,
// compact, as upstream's trigger Lambda sends it (ReassemblyPayload(job_id).model_dump_json()).
//
// Reading follows upstream's ReassemblyPayload (pydantic defaults): a JSON object whose
// job_id is a string; extra fields are ignored (pydantic's default `extra="ignore"`, and a
// newer sender may add some); a non-string job_id (1, true, null) is refused, as pydantic v2
// refuses it. Two refusals upstream does not make, for bodies its Lambda never sends:
// - an empty job_id (pydantic takes ""; DynamoDB then refuses the empty key on every
//   retry until the message is dead-lettered);
// - a job id no key can be made of (keys.ts jobIdProblem: "..", a control character, …).
import { object, string } from 'zod';
import { jobIdProblem } from './keys.js';

export const reassemblyMessageSchema = object({
  job_id: string({ error: 'job_id is missing or not a string' }).min(1, { error: 'job_id is empty' }),
}, { error: 'body is not a JSON object' });

export type ReassemblyMessageParse = { ok: true; jobId: string } | { ok: false; reason: string };

/** Parses an SQS body. Never throws. */
export function parseReassemblyBody(body: string): ReassemblyMessageParse {
  return parseJobIdBody(body, 'reassembly message');
}

/**
 * A `{"job_id":"<id>"}` body under the reassembly message's rules; `what` opens every reason.
 * b622b25's deletion queue carries the same body (DeletionPayload, models.py@b622b25:100-105).
 */
export function parseJobIdBody(body: string, what: string): ReassemblyMessageParse {
  let value: unknown;
  try {
    value = JSON.parse(body) as unknown;
  } catch (err) {
    return { ok: false, reason: `${what}: body is not JSON (${(err as Error).message})` };
  }
  const parsed = reassemblyMessageSchema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: `${what}: ${parsed.error.issues[0]?.message ?? 'not {"job_id": "…"}'}` };
  const problem = jobIdProblem(parsed.data.job_id);
  if (problem !== null) return { ok: false, reason: `${what}: ${problem}` };
  return { ok: true, jobId: parsed.data.job_id };
}

/** The body the trigger sends: `{"job_id":"…"}`, byte for byte what upstream's Lambda sends. */
export function reassemblyBody(jobId: string): string {
  const problem = jobIdProblem(jobId);
  if (problem !== null) throw new RangeError(`cannot send a reassembly message: ${problem}`);
  return JSON.stringify({ job_id: jobId });
}

// The RugbyCodex transcode message (RUGBYCODEX.md): the `complete-upload` Edge Function
// sends `{job_id, media_id, org_id, type: "transcode"}` once it has a `jobs` row. No key,
// no bucket: everything else about the job comes from that row and its asset. Extra
// fields are tolerated (the sender may grow); a body of any other shape is invalid.
// Named imports: `z` drags every zod locale into the executable (hundreds of kB to parse at start-up).
import { guid, literal, looseObject, type output } from 'zod';

export const transcodeMessageSchema = looseObject({
  // guid, not uuid: Postgres accepts any 8-4-4-4-12 hex id, so must we (z.uuid wants RFC version bits).
  job_id: guid(),
  media_id: guid(),
  org_id: guid(),
  type: literal('transcode').optional(),
});

export type TranscodeMessage = output<typeof transcodeMessageSchema>;

/** The ids every write is filtered by: the message's, checked against the row before any work. */
export interface JobRef {
  readonly jobId: string;
  readonly mediaId: string;
  readonly orgId: string;
}

export function jobRefOf(msg: TranscodeMessage): JobRef {
  return { jobId: msg.job_id, mediaId: msg.media_id, orgId: msg.org_id };
}

/** The body complete-upload sends for a job, as the reconciler sends it again. */
export function transcodeMessageBody(ref: JobRef): string {
  return JSON.stringify({ job_id: ref.jobId, media_id: ref.mediaId, org_id: ref.orgId, type: 'transcode' } satisfies TranscodeMessage);
}

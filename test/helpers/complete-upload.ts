// The `complete-upload` edge function (reyesjl/rugbycodex main 4bf26a3), replayed step for
// step against the same PostgreSQL the PostgREST stand-in serves and the same SQS queue, so
// a test can run it at any point of a worker's job (RUGBYCODEX.md §"The other actors"):
// (1) media_assets ← status 'uploaded', storage_path; (2) the asset's transcode job, reused
// whatever its state, or a new one `queued`; (3) the message sent; (4) AFTER the send,
// media_assets ← processing_stage 'uploaded', unconditionally. Plain SQL, as PostgREST runs
// it for those requests, so the replay is not itself recorded as a worker request.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { RugbyCodex, Upload } from './rugbycodex.js';

export interface CompleteUploadRun {
  readonly jobId: string;
  /** The SQS message id of the message it sent. */
  readonly messageId: string;
  /** When step 4 landed. */
  readonly at: number;
}

export async function replayCompleteUpload(codex: RugbyCodex, queueUrl: string, u: Pick<Upload, 'org' | 'asset' | 'key'>): Promise<CompleteUploadRun> {
  const { standin, sqs } = codex;
  await standin.sql('update media_assets set status = $3, storage_path = $4 where id = $1 and org_id = $2', [u.asset, u.org, 'uploaded', u.key]);
  let [job] = await standin.sql("select id from jobs where media_asset_id = $1 and type = 'transcode'", [u.asset]);
  job ??= (await standin.sql("insert into jobs (media_asset_id, org_id, type, state) values ($1, $2, 'transcode', 'queued') returning id", [u.asset, u.org]))[0];
  const jobId = String(job!.id);
  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl: queueUrl, MessageBody: JSON.stringify({ job_id: jobId, media_id: u.asset, org_id: u.org, type: 'transcode' }),
  }));
  await standin.sql('update media_assets set processing_stage = $3 where id = $1 and org_id = $2', [u.asset, u.org, 'uploaded']);
  return { jobId, messageId: sent.MessageId ?? '', at: Date.now() };
}

// "Nothing lost, nothing duplicated" for the transcode role, as the fault tests check it
// on the RugbyCodex world (test/helpers/rugbycodex.ts): the jobs row's state writes, the
// row and asset at the end, the worker's own events, and the player folder in S3.
import { readdir } from 'node:fs/promises';
import { expect } from '@jest/globals';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Row } from './postgrest-standin.js';
import type { RugbyCodex, Upload } from './rugbycodex.js';
import type { LogEvent } from './worker-process.js';

/** The accepted PATCHes of one row that set `state`, in order. */
export function stateWrites(codex: RugbyCodex, table: string, id: string): Row[] {
  return codex.standin.requests.filter((r) => r.method === 'PATCH' && r.table === table && r.query.id === `eq.${id}` && (r.status ?? 0) < 300)
    .map((r) => r.body as Row).filter((b) => 'state' in b);
}

export const countEvents = (events: readonly LogEvent[], type: string, job: string): number =>
  events.filter((e) => e.event_type === type && e.job_id === job).length;

/**
 * Exactly once, first time: one running and one succeeded write, attempt 1, one start and one
 * completion, the whole player folder (`segments` .ts files of the 360p rendition).
 */
export async function expectTranscodedOnce(codex: RugbyCodex, events: readonly LogEvent[], u: Upload, segments = 4): Promise<void> {
  expect(stateWrites(codex, 'jobs', u.job).map((b) => b.state)).toEqual(['running', 'succeeded']);
  expect(await codex.standin.row('jobs', u.job)).toMatchObject({ state: 'succeeded', attempt: 1, progress: 1 });
  expect(await codex.standin.row('media_assets', u.asset)).toMatchObject({ status: 'ready', processing_stage: 'complete', streaming_ready: true });
  expect(countEvents(events, 'transcode_completed', u.job)).toBe(1);
  expect(countEvents(events, 'job_started', u.job)).toBe(1);
  const listed = await codex.s3.send(new ListObjectsV2Command({ Bucket: u.bucket, Prefix: u.streaming }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(u.streaming.length)).sort();
  expect(keys).toEqual(expect.arrayContaining(['index.m3u8', '360p/index.m3u8', 'thumbnails/storyboard.vtt']));
  expect(keys.filter((k) => k.endsWith('.ts'))).toHaveLength(segments);
}

/** Files left under a worker's WORK_DIR (its dot-files aside). */
export async function workFilesLeft(workDir: string): Promise<string[]> {
  return (await readdir(workDir, { recursive: true }).catch(() => [] as string[])).filter((f) => !f.startsWith('.'));
}

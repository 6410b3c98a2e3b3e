// The role registry: one name, one definition, declared needs (as Loki's modules.go).
// `all` is simply every name here.
// A role's code is imported when the role starts, so a process pays (in start-up time and
// memory) only for the roles it runs.
import type { RoleDefinition } from '../src/ports/index.js';

export const ROLES = [
  {
    name: 'transcode',
    description: 'RugbyCodex: a jobs row from the transcode queue → HLS ladder + storyboard in the asset\'s bucket, asset ready in Supabase',
    needs: { consumes: 'SQS_TRANSCODE_QUEUE_URL', mediaStorage: true, mediaDb: true, ffmpeg: true },
    start: async (ctx) => (await import('./transcode/index.js')).start(ctx),
  },
  {
    name: 'cleanup',
    description: "RugbyCodex: delete each deleted asset's media folder listed in media_cleanup_jobs and each coach track in segment_insight_audio_deletions (every 6 h, or one pass with --once)",
    needs: { mediaStorage: true, mediaDb: true },
    dryRun: true,
    start: async (ctx) => (await import('./cleanup/index.js')).start(ctx),
  },
  {
    name: 'chunk',
    description: 'Stereo pipeline: split a source video into keyframe-aligned segments (stream copy) and record the job as chunking_complete',
    needs: {
      consumes: 'CHUNKING_QUEUE_URL', sendsTo: ['REASSEMBLY_QUEUE_URL'], buckets: ['INPUT_BUCKET_NAME'],
      tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'], ffmpeg: true,
    },
    start: async (ctx) => (await import('./chunk/index.js')).start(ctx),
  },
  {
    name: 'segment-infer',
    description: 'Stereo pipeline: run inference (stub, SageMaker or HTTP) on each uploaded segment and record its completion',
    needs: {
      consumes: 'VIDEO_WORKER_QUEUE_URL', buckets: ['INPUT_BUCKET_NAME', 'OUTPUT_BUCKET_NAME'],
      tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME'], inference: true,
      // The inline trigger's: upstream's video-worker task sets neither (its Lambda triggers).
      usesWhenSet: ['REASSEMBLY_QUEUE_URL', 'REASSEMBLY_TRIGGERED_TABLE_NAME'],
    },
    start: async (ctx) => (await import('./segment-infer/index.js')).start(ctx),
  },
  {
    name: 'trigger',
    description: 'Stereo pipeline: re-check jobs left at chunking_complete and send each complete one to reassembly exactly once',
    needs: { sendsTo: ['REASSEMBLY_QUEUE_URL'], buckets: ['OUTPUT_BUCKET_NAME'], tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'] },
    start: async (ctx) => (await import('./trigger/index.js')).start(ctx),
  },
  {
    name: 'reassemble',
    description: 'Stereo pipeline: join the processed segments in order (stream copy), verify, write jobs/{job_id}/final.mp4, mark the job completed',
    needs: { consumes: 'REASSEMBLY_QUEUE_URL', buckets: ['OUTPUT_BUCKET_NAME'], tables: ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME'], ffmpeg: true },
    start: async (ctx) => (await import('./reassemble/index.js')).start(ctx),
  },
] as const satisfies readonly RoleDefinition[];

export type RoleName = (typeof ROLES)[number]['name'];
export const ROLE_NAMES: readonly RoleName[] = ROLES.map((r) => r.name);

export function roleDefinition(name: string): RoleDefinition | undefined {
  return (ROLES as readonly RoleDefinition[]).find((r) => r.name === name);
}

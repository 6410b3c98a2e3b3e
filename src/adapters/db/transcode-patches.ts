// The row changes of the transcode lifecycle, written once for both MediaDb adapters (Supabase
// sends them as PATCH bodies, memory assigns them), so the two cannot drift apart.
import type { StoryboardRecord, TranscodeClaim, TranscodeErrorCode, TranscodeOutcome } from '../../ports/index.js';
import { ASSET_WRITES, type AssetWrite } from '../../domain/rugbycodex/transcode-state.js';
import { holderPayload } from '../../domain/rugbycodex/transcode-hold.js';
import { oneLine } from './schema.js';
import type { JobRow, MediaAssetRow } from './schema.js';

/** A claim: running under the new token, the holder named, anything of an earlier run cleared. */
export function claimPatch(token: string, claim: TranscodeClaim): Partial<JobRow> {
  return {
    state: 'running', started_at: token, updated_at: token, attempt: Math.max(1, claim.attempt), progress: 0,
    payload: holderPayload(claim.holder), finished_at: null, error_code: null, error_message: null,
  };
}

export function succeededPatch(at: string, outcome: TranscodeOutcome): Partial<JobRow> {
  const result = { playlist: outcome.playlistKey, renditions: outcome.renditions, duration_seconds: outcome.durationSeconds };
  return { state: 'succeeded', finished_at: at, progress: 1, result, updated_at: at };
}

export function failedPatch(at: string, code: TranscodeErrorCode, message: string): Partial<JobRow> {
  return { state: 'failed', finished_at: at, error_code: code, error_message: oneLine(message), updated_at: at };
}

/** The storyboard columns of RUGBYCODEX.md step 9 (none without a storyboard). */
export function storyboardColumns(storyboard: StoryboardRecord | null): Partial<MediaAssetRow> {
  return storyboard ? {
    thumbnail_path: storyboard.spriteKey, thumbnail_sprite_path: storyboard.spriteKey, thumbnail_vtt_path: storyboard.vttKey,
    thumbnail_frame_count: storyboard.frameCount, thumbnail_interval_seconds: storyboard.intervalSeconds,
    thumbnail_width: storyboard.width, thumbnail_height: storyboard.height,
  } : {};
}

/** An asset write: `patch` with the stage and status its rule writes. */
export function assetPatch(write: AssetWrite, patch: Partial<MediaAssetRow> = {}): Partial<MediaAssetRow> {
  const rule = ASSET_WRITES[write];
  return { ...patch, ...(rule.stage && { processing_stage: rule.stage }), ...(rule.status && { status: rule.status }) };
}

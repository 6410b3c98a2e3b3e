// The RugbyCodex tables as both MediaDb adapters see them: the columns of RUGBYCODEX.md
// (deploy/supabase/rugbycodex-tables.sql restates them for tests), and the write rules
// they share so the memory adapter behaves like Supabase wherever a role can tell.
import type { JobState, MediaAssetStatus, ProcessingStage, TranscodeErrorCode } from '../../domain/rugbycodex/transcode-state.js';
import { redactText } from '../../runtime/redact.js';

export type { MediaAssetStatus } from '../../domain/rugbycodex/transcode-state.js';

export interface MediaAssetRow {
  id: string;
  org_id: string;
  bucket: string;
  storage_path: string;
  file_name: string;
  base_org_storage_path: string;
  status: MediaAssetStatus;
  processing_stage: ProcessingStage;
  transcode_progress: number | null;
  streaming_ready: boolean;
  duration_seconds: number;
  thumbnail_path: string | null;
  thumbnail_sprite_path: string | null;
  thumbnail_vtt_path: string | null;
  thumbnail_frame_count: number | null;
  thumbnail_interval_seconds: number | null;
  thumbnail_width: number | null;
  thumbnail_height: number | null;
  created_at: string;
}

export interface JobRow {
  id: string;
  org_id: string;
  media_asset_id: string | null;
  type: string;
  state: JobState;
  /** A fraction, 0–1 (a CHECK constraint). */
  progress: number;
  error_code: TranscodeErrorCode | null;
  error_message: string | null;
  /** ≥ 1 (a CHECK constraint). */
  attempt: number;
  payload: unknown;
  result: unknown;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface CleanupJobRow {
  id: string;
  media_asset_id: string;
  bucket: string;
  storage_path: string;
  created_at: string;
  processed_at: string | null;
  error: string | null;
}

/** transcode_progress: a whole percent. */
export function encodePercentValue(percent: number): number | null {
  if (!Number.isFinite(percent)) return null;
  return Math.min(100, Math.max(0, Math.floor(percent)));
}

/** jobs.progress: a fraction rounded to 4 places, never above 1 (the CHECK) nor below 0. */
export function jobFractionValue(fraction: number): number | null {
  if (!Number.isFinite(fraction)) return null;
  return Math.min(1, Math.max(0, Math.floor(fraction * 10_000) / 10_000));
}

/** Two timestamps as PostgREST and JavaScript spell them ("…+00:00", "…Z") name the same instant. */
export function sameInstant(a: string, b: string): boolean {
  return Date.parse(a) === Date.parse(b);
}

/** error_message is shown in a UI and in logs: one line, bounded. */
export function oneLine(message: string, max = 1000): string {
  // Bound for a table the admins read: no URL password or signed-URL token in it.
  const flat = redactText(message).replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

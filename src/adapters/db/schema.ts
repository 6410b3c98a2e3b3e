// The RugbyCodex tables as both MediaDb adapters see them (columns as in
// deploy/supabase/migrations), and the write rules they share so the memory adapter
// behaves like Supabase wherever a role can tell.
import { canTransition } from '../../domain/transcode-state.js';
import type { TranscodeErrorCode, TranscodeJobStatus } from '../../ports.js';

export type MediaAssetStatus = 'uploaded' | 'processing' | 'ready' | 'failed';

export interface MediaAssetRow {
  id: string;
  org_id: string | null;
  storage_path: string | null;
  streaming_path: string | null;
  thumbnail_path: string | null;
  status: MediaAssetStatus;
  duration_seconds: number | null;
  width: number | null;
  height: number | null;
  renditions: unknown;
  error_code: TranscodeErrorCode | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface TranscodeJobRow {
  id: string;
  media_asset_id: string;
  status: TranscodeJobStatus;
  progress: number;
  attempts: number;
  worker_id: string | null;
  error_code: TranscodeErrorCode | null;
  error_message: string | null;
  started_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface CleanupJobRow {
  id: string;
  media_asset_id: string | null;
  storage_path: string;
  processed_at: string | null;
  objects_deleted: number | null;
  error: string | null;
  created_at: string;
}

export const JOB_STATUSES: readonly TranscodeJobStatus[] = ['pending', 'processing', 'completed', 'failed'];

/** The statuses a job may be in for a write that moves it to `to` (the conditional update's filter). */
export function statusesThatMayBecome(to: TranscodeJobStatus): TranscodeJobStatus[] {
  return JOB_STATUSES.filter((from) => canTransition(from, to));
}

/** The integer the progress column (0–100) takes for `percent`; null when there is nothing sensible to write. */
export function progressValue(percent: number): number | null {
  if (!Number.isFinite(percent)) return null;
  return Math.min(100, Math.max(0, Math.floor(percent)));
}

/** error_message is shown in a UI and in logs: one line, bounded. */
export function oneLine(message: string, max = 1000): string {
  const flat = message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

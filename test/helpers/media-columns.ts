// The columns of the RugbyCodex tables rugbyworker reads and writes, in the order
// deploy/supabase/rugbycodex-tables.sql creates them (the schema test checks the two agree).
// Free of jest imports, so benchmarks can use it too.
export const MEDIA_COLUMNS = {
  media_assets: [
    'id', 'org_id', 'bucket', 'storage_path', 'file_name', 'base_org_storage_path', 'status', 'processing_stage',
    'transcode_progress', 'streaming_ready', 'duration_seconds', 'thumbnail_path', 'thumbnail_sprite_path',
    'thumbnail_vtt_path', 'thumbnail_frame_count', 'thumbnail_interval_seconds', 'thumbnail_width', 'thumbnail_height',
    'created_at',
  ],
  jobs: [
    'id', 'org_id', 'media_asset_id', 'type', 'state', 'progress', 'error_code', 'error_message', 'attempt', 'payload',
    'result', 'created_at', 'updated_at', 'started_at', 'finished_at',
  ],
  media_cleanup_jobs: ['id', 'media_asset_id', 'bucket', 'storage_path', 'created_at', 'processed_at', 'error'],
  compute_devices: [
    'id', 'name', 'hostname', 'device_type', 'status', 'last_heartbeat_at', 'cpu_cores', 'memory_total_mb', 'gpu_model',
    'cuda_version', 'jetpack_version', 'cpu_utilization', 'memory_used_mb', 'gpu_utilization', 'temperature_c', 'last_error',
    'created_at', 'updated_at',
  ],
  segment_insight_audio_deletions: [
    'id', 'coach_audio_url', 'storage_bucket', 'storage_key', 'status', 'attempt_count', 'last_error', 'created_at', 'processed_at',
  ],
} as const satisfies Record<string, readonly string[]>;

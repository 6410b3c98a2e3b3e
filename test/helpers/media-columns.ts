// The columns of the RugbyCodex tables the adapters use, as the migration creates them:
// the PostgREST stand-in refuses any other, and the migration test checks the SQL has them.
// Free of jest imports, so benchmarks can use it too.
export const MEDIA_COLUMNS = {
  media_assets: ['id', 'org_id', 'storage_path', 'streaming_path', 'thumbnail_path', 'status', 'duration_seconds', 'width', 'height', 'renditions', 'error_code', 'error_message', 'created_at', 'updated_at'],
  transcode_jobs: ['id', 'media_asset_id', 'status', 'progress', 'attempts', 'worker_id', 'error_code', 'error_message', 'started_at', 'completed_at', 'created_at', 'updated_at'],
  media_cleanup_jobs: ['id', 'media_asset_id', 'storage_path', 'processed_at', 'objects_deleted', 'error', 'created_at'],
} as const satisfies Record<string, readonly string[]>;

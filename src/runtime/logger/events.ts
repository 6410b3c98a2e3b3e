// The catalogue of log events (issue 21, item 7). `event_type`s are a live contract: Axiom
// queries, the runbooks and the alerts read them, so every one a worker writes is listed here
// once, grouped by who writes it. test/unit/log-events.test.ts fails on an `event_type` literal
// in src/ or roles/ that is missing here and on an entry nobody writes; the README's list is
// generated from it (`npm run docs:events`, drift checked by the same test).
// A periodic pass (src/runtime/periodic.ts) writes `<name>_sleeping` for its name.

export const LOG_EVENTS = {
  // The engine: consumer, jobs, heartbeats, shutdown, health, device row, FFmpeg, source reads, queues, inference.
  engine: [
    'consumer_failed', 'consumer_started', 'consumer_stopped', 'consumer_stopping', 'dependency_down',
    'dependency_up', 'device_heartbeat', 'device_heartbeat_failed', 'device_heartbeat_resumed',
    'device_heartbeat_started', 'device_heartbeat_stopped', 'device_status', 'fatal', 'ffmpeg_aborted',
    'ffmpeg_activity_unknown', 'ffmpeg_done', 'ffmpeg_failed', 'ffmpeg_progress_callback_failed',
    'ffmpeg_quiet_but_working', 'ffmpeg_stall', 'ffmpeg_start', 'health_check_failed',
    'health_server_started', 'heartbeat_extended', 'heartbeat_failed', 'heartbeat_misconfigured',
    'heartbeat_on_failure_threw', 'heartbeat_retry', 'heartbeat_started', 'heartbeat_stats',
    'heartbeat_stopped', 'heartbeat_unavailable', 'hw_decode_detected', 'hw_encode_detected',
    'inference_accepted', 'inference_poll', 'inference_retry', 'job_aborted', 'job_crashed',
    'job_failed', 'job_lease_lost', 'job_released', 'job_retry', 'job_started', 'job_succeeded',
    'job_waiting', 'message_discarded', 'message_invalid', 'pipeline_item_malformed',
    'queue_depth_failed', 'queue_depth_recovered', 'queue_operation_failed', 'queue_operation_retry',
    'receive_failed', 'service_added_after_shutdown', 'service_stop_abandoned', 'service_stop_failed',
    'service_stopped', 'shutdown_completed', 'shutdown_forced', 'shutdown_grace_expired',
    'shutdown_started', 'source_closed', 'source_read_failed', 'source_response_cut',
    'sqs_message_left_for_redrive', 'sqs_permission_missing', 'task_protection',
    'task_protection_failed', 'task_protection_recovered',
  ],
  // The worker process and local runs (src/commands).
  commands: [
    'stereo_progress', 'worker_started',
  ],
  // RugbyCodex transcode role (roles/transcode).
  transcode: [
    'hls_upload_callback_failed', 'hls_upload_failed', 'hls_upload_finished', 'hls_uploaded',
    'hw_decode_fallback', 'hw_encode_fallback', 'hw_encode_skipped', 'transcode_asset_restored',
    'transcode_completed', 'transcode_failed', 'transcode_hold_refresh_failed',
    'transcode_output_missing', 'transcode_progress', 'transcode_progress_not_saved', 'transcode_ready',
    'transcode_requeue_failed', 'transcode_requeue_refused', 'transcode_requeue_sleeping',
    'transcode_requeued', 'transcode_skipped', 'transcode_source_downloaded', 'transcode_started',
    'transcode_superseded', 'transcode_taking_over', 'workdir_swept',
  ],
  // RugbyCodex cleanup role (roles/cleanup).
  cleanup: [
    'cleanup_job_completed', 'cleanup_job_dry_run', 'cleanup_job_failed', 'cleanup_job_interrupted',
    'cleanup_mark_failed_error', 'cleanup_pass_completed', 'cleanup_pass_failed', 'cleanup_sleeping',
    'cleanup_started', 'coach_audio_deleted', 'coach_audio_dry_run', 'coach_audio_failed',
    'coach_audio_pass_completed', 'coach_audio_read_failed', 'coach_audio_skipped',
    'coach_audio_started',
  ],
  // Stereo pipeline: chunk, segment-infer, trigger, reassemble and the reassembly-trigger Lambda (roles/stereo).
  stereo: [
    'chunking_completed', 'chunking_failed', 'chunking_skipped', 'chunking_source_downloaded',
    'inference_started', 'inline_trigger_off', 'permission_missing', 'permission_probe_failed',
    'reassembly_already_triggered', 'reassembly_completed', 'reassembly_failed', 'reassembly_lock_lost',
    'reassembly_lock_refresh_failed', 'reassembly_lock_reset', 'reassembly_release_failed',
    'reassembly_resent', 'reassembly_skipped', 'reassembly_taken_over', 'reassembly_triggered',
    's3_test_event', 'segment_completed', 'segment_failed', 'segment_skipped',
    'trigger_batch_completed', 'trigger_batch_failed', 'trigger_batch_received',
    'trigger_completed_job', 'trigger_failed', 'trigger_pass_completed', 'trigger_pass_failed',
    'trigger_skipped', 'trigger_sleeping', 'trigger_stream_nudged',
  ],
} as const;

export type LogEventGroup = keyof typeof LOG_EVENTS;
/** Every event_type a worker writes. */
export type LogEvent = (typeof LOG_EVENTS)[LogEventGroup][number];

export const LOG_EVENT_GROUPS: Readonly<Record<LogEventGroup, string>> = {
  engine: 'The engine: consumer, jobs, heartbeats, shutdown, health, device row, FFmpeg, source reads, queues, inference',
  commands: 'The worker process and local runs (src/commands)',
  transcode: 'RugbyCodex transcode role (roles/transcode)',
  cleanup: 'RugbyCodex cleanup role (roles/cleanup)',
  stereo: 'Stereo pipeline: chunk, segment-infer, trigger, reassemble and the reassembly-trigger Lambda (roles/stereo)',
};

const ALL: ReadonlySet<string> = new Set(Object.values(LOG_EVENTS).flat());

export function isLogEvent(name: string): name is LogEvent {
  return ALL.has(name);
}

// Every setting rugbyworker reads. Keys ARE the environment variable names the seed
// services use, so a JSON config file, `.env`, the environment and `rugbyworker config`
// all speak the same names. Defaults come from the seeds.
import type { Schema } from 'convict';
import { DEFAULT_PRESET, X264_PRESETS } from '../../domain/rugbycodex/hls-ladder.js';
import { ENCODER_CHOICES } from '../../domain/rugbycodex/video-encoder.js';
import { TOPOLOGY_SETTINGS } from '../../domain/stereo/topology.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** json: one JSON event per line; text: stereo-spot's Python line (src/runtime/logger/text.ts). */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const schema = {
  // --- runtime ---
  LOG_LEVEL: { doc: 'Lowest severity written (trace, debug, info, warn, error, fatal). `--log-level` overrides.', format: [...LOG_LEVELS], default: 'info', env: 'LOG_LEVEL' },
  LOG_FORMAT: { doc: 'Log line format: json (one JSON event per line, human lines on a terminal) or text (stereo-spot\'s Python format, `2026-02-26T17:37:23Z [INFO] rugbyworker.chunk: message job_id=… key=value`, which the web UI\'s "Open logs" CloudWatch query finds).', format: [...LOG_FORMATS], default: 'json', env: 'LOG_FORMAT' },
  VERBOSE_LOGGING: { doc: 'Seed compatibility: true lowers LOG_LEVEL to debug.', format: 'bool-string', default: false, env: 'VERBOSE_LOGGING' },
  CONCURRENCY: { doc: 'Messages processed at once per role. `--concurrency` overrides.', format: 'positive-int', default: 1, env: 'CONCURRENCY' },
  HEALTH_PORT: { doc: 'Port of the /health and /metrics server; unset turns it off. `--health-port` overrides.', format: 'optional-port', default: null as number | null, nullable: true, env: 'HEALTH_PORT' },
  HEALTH_HOST: { doc: 'Address the health server binds to (0.0.0.0 inside a container behind a load balancer).', format: String, default: '127.0.0.1', env: 'HEALTH_HOST' },
  SHUTDOWN_GRACE_SECONDS: { doc: 'On SIGTERM, how long in-flight jobs may finish before they are aborted and their messages released (keep below ECS stopTimeout, 30 s).', format: 'seconds-1-86400', default: 25, env: 'SHUTDOWN_GRACE_SECONDS' },
  WORK_DIR: { doc: 'Scratch space for downloads and FFmpeg output; one sub-directory per job, removed when the job ends (those of a killed worker when the next transcode worker on the host starts).', format: String, default: '/tmp/rugbyworker', env: 'WORK_DIR' },
  INSTANCE_ID: { doc: 'Name of this worker in logs and metrics; defaults to RC_DEVICE_NAME, then hostname-pid.', format: String, default: '', env: 'INSTANCE_ID' },
  RC_DEVICE_NAME: { doc: 'RugbyCodex worker name (the Jetson .env has it); the default instance id. With it, a worker whose roles use Supabase keeps its compute_devices row (the admin devices widget) up to date.', format: String, default: '', env: 'RC_DEVICE_NAME' },
  DEVICE_HEARTBEAT_SECONDS: { doc: 'How often a worker with RC_DEVICE_NAME upserts its compute_devices row (the admin dashboard shows a device offline after 60 s without one).', format: 'seconds-1-30', default: 15, env: 'DEVICE_HEARTBEAT_SECONDS' },
  ALLOW_INSECURE_HTTP: { doc: 'true: a setting whose requests carry a credential (SUPABASE_URL, AXIOM_URL, WASABI_ENDPOINT, AWS_ENDPOINT_URL*, the SQS queue URLs, any URL with a password in it) may be plain http:// (redis:// for REDIS_URL) to another machine. Without it such a setting stops start-up (exit 78) unless it names this machine (127.0.0.0/8, ::1, localhost). Only for a network you trust.', format: 'bool-string', default: false, env: 'ALLOW_INSECURE_HTTP' },

  // --- logging to Axiom (seed 000 observability.py) ---
  AXIOM_API_TOKEN: { doc: 'When set, every log event is also sent to Axiom.', format: String, default: '', env: 'AXIOM_API_TOKEN', sensitive: true },
  AXIOM_DATASET: { doc: 'Axiom dataset receiving the events.', format: String, default: 'rugbycodex-logs', env: 'AXIOM_DATASET' },
  AXIOM_ENVIRONMENT: { doc: 'Value of the `environment` field of every event (e.g. jetson, ecs).', format: String, default: 'production', env: 'AXIOM_ENVIRONMENT' },
  AXIOM_URL: { doc: 'Axiom API base URL (self-hosted or EU region).', format: 'optional-http-url', default: 'https://api.axiom.co', env: 'AXIOM_URL' },

  // --- queues ---
  QUEUE_BACKEND: { doc: 'Where jobs come from: sqs, redis (Redis Streams at REDIS_URL) or memory (in-process, local mode).', format: ['sqs', 'redis', 'memory'], default: 'sqs', env: 'QUEUE_BACKEND' },
  SQS_TRANSCODE_QUEUE_URL: { doc: 'Transcode job queue (RugbyCodex), the name in the live .env.', format: 'optional-http-url', default: '', env: 'SQS_TRANSCODE_QUEUE_URL' },
  SQS_QUEUE_URL: { doc: 'The same queue under the seed README\'s name; when both are set they must be equal.', format: 'optional-http-url', default: '', env: 'SQS_QUEUE_URL' },
  SQS_VISIBILITY_TIMEOUT: { doc: 'Visibility of a received transcode message until the lease sized from the video takes over (the live .env has 600); 0 keeps the queue\'s own.', format: 'seconds-0-43200', default: 0, env: 'SQS_VISIBILITY_TIMEOUT' },
  CHUNKING_QUEUE_URL: { doc: 'Chunking queue (stereo pipeline): S3 ObjectCreated events for input/{job_id}/source.mp4.', format: 'optional-http-url', default: '', env: 'CHUNKING_QUEUE_URL' },
  VIDEO_WORKER_QUEUE_URL: { doc: 'Video-worker queue (stereo pipeline): S3 ObjectCreated events for segments/….', format: 'optional-http-url', default: '', env: 'VIDEO_WORKER_QUEUE_URL' },
  REASSEMBLY_QUEUE_URL: { doc: 'Reassembly queue (stereo pipeline): {"job_id"} messages.', format: 'optional-http-url', default: '', env: 'REASSEMBLY_QUEUE_URL' },
  SQS_ASSUMED_MAX_RECEIVE_COUNT: { doc: 'The queue\'s maxReceiveCount to assume when its RedrivePolicy may not be read (sqs:GetQueueAttributes refused, as for the Jetson\'s user): a job failing on that receive is recorded failed. The live transcode queue has 3.', format: 'positive-int', default: 3, env: 'SQS_ASSUMED_MAX_RECEIVE_COUNT' },
  SQS_LONG_POLL_WAIT_SECONDS: { doc: 'Long-poll wait of each receive (0 = short polling, for tests).', format: 'seconds-0-20', default: 20, env: 'SQS_LONG_POLL_WAIT_SECONDS' },
  REDIS_URL: { doc: 'Redis server for QUEUE_BACKEND=redis.', format: 'optional-redis-url', default: '', env: 'REDIS_URL', sensitive: true },
  HEARTBEAT_INTERVAL_SECONDS: { doc: 'How often a job in progress extends its message lease.', format: 'seconds-1-43200', default: 240, env: 'HEARTBEAT_INTERVAL_SECONDS' },
  HEARTBEAT_EXTENSION_SECONDS: { doc: 'How far each extension pushes the lease (must exceed the interval).', format: 'seconds-1-43200', default: 300, env: 'HEARTBEAT_EXTENSION_SECONDS' },

  // --- AWS ---
  AWS_REGION: { doc: 'AWS region of the queues, tables and buckets.', format: String, default: 'us-east-1', env: 'AWS_REGION' },
  AWS_ENDPOINT_URL: { doc: 'Send every AWS call to this endpoint instead (LocalStack, fauxqs, dynalite).', format: 'optional-http-url', default: '', env: 'AWS_ENDPOINT_URL' },
  AWS_ENDPOINT_URL_SQS: { doc: 'SQS endpoint, over AWS_ENDPOINT_URL (the AWS SDK\'s own name).', format: 'optional-http-url', default: '', env: 'AWS_ENDPOINT_URL_SQS' },
  AWS_ENDPOINT_URL_S3: { doc: 'S3 endpoint of the AWS buckets, over AWS_ENDPOINT_URL.', format: 'optional-http-url', default: '', env: 'AWS_ENDPOINT_URL_S3' },
  AWS_ENDPOINT_URL_DYNAMODB: { doc: 'DynamoDB endpoint, over AWS_ENDPOINT_URL.', format: 'optional-http-url', default: '', env: 'AWS_ENDPOINT_URL_DYNAMODB' },
  AWS_ACCESS_KEY_ID: { doc: 'AWS access key; without it the SDK default chain is used (profile, ECS task role, instance role).', format: String, default: '', env: 'AWS_ACCESS_KEY_ID', sensitive: true },
  AWS_SECRET_ACCESS_KEY: { doc: 'AWS secret key matching AWS_ACCESS_KEY_ID.', format: String, default: '', env: 'AWS_SECRET_ACCESS_KEY', sensitive: true },
  S3_FORCE_PATH_STYLE: { doc: 'Address buckets as endpoint/bucket/key (needed by most S3 stand-ins).', format: 'bool-string', default: false, env: 'S3_FORCE_PATH_STYLE' },

  // --- RugbyCodex media storage (Wasabi); each object's bucket comes from its database row ---
  WASABI_ENDPOINT: { doc: 'Wasabi (or other S3) endpoint of the media bucket; unset means AWS S3.', format: 'optional-http-url', default: '', env: 'WASABI_ENDPOINT' },
  WASABI_REGION: { doc: 'Region of the Wasabi endpoint.', format: String, default: 'us-east-1', env: 'WASABI_REGION' },
  WASABI_KEY: { doc: 'Wasabi access key (required with WASABI_ENDPOINT).', format: String, default: '', env: 'WASABI_KEY', sensitive: true },
  WASABI_SECRET: { doc: 'Wasabi secret key (required with WASABI_ENDPOINT).', format: String, default: '', env: 'WASABI_SECRET', sensitive: true },

  // --- RugbyCodex database (Supabase) ---
  SUPABASE_URL: { doc: 'Supabase project URL (tables jobs, media_assets, media_cleanup_jobs).', format: 'optional-http-url', default: '', env: 'SUPABASE_URL' },
  SUPABASE_SERVICE_ROLE_KEY: { doc: 'Supabase service role key.', format: String, default: '', env: 'SUPABASE_SERVICE_ROLE_KEY', sensitive: true },
  SUPABASE_ANON_KEY: { doc: 'In the live .env but unused by the workers; accepted, and never printed.', format: String, default: '', env: 'SUPABASE_ANON_KEY', sensitive: true },

  // --- transcode ---
  HLS_SEGMENT_SECONDS: { doc: 'Target HLS segment length.', format: 'seconds-1-43200', default: 6, env: 'HLS_SEGMENT_SECONDS' },
  HLS_RENDITIONS: { doc: 'Rendition heights of the HLS ladder, largest first (e.g. 720 for one rung); never above the source. Unset: those of 1080,720,480,360 that fit the source, all of them with a hardware encoder, the top three where libx264 encodes (a fourth would cost about a twentieth more encode time there).', format: 'rung-heights', default: null as number[] | null, nullable: true, env: 'HLS_RENDITIONS' },
  HLS_PRESET: { doc: 'libx264 preset of every rung. ultrafast (adaptive quantisation back on in the top rung) encodes the ladder in about the time the Python worker spent on its one 2 Mb/s rendition, its top rung closer to the source than that rendition; veryfast costs twice the time for about 0.01 more SSIM.', format: [...X264_PRESETS], default: DEFAULT_PRESET as string, env: 'HLS_PRESET' },
  HLS_ENCODER: { doc: 'Video encoder of the ladder. auto: NVENC (h264_nvenc, preset p4) on an NVIDIA GPU, the Jetson encoder (h264_nvv4l2enc, else h264_nvmpi) on a Jetson that has one (not an Orin Nano), else libx264; nvenc or jetson: only that one; each checked by a test encode at start-up, libx264 when it fails. A hardware encoder that fails a job is replaced by libx264 for that job and, once libx264 has encoded it, for the rest of the process.', format: [...ENCODER_CHOICES], default: 'auto' as string, env: 'HLS_ENCODER' },
  HLS_SEGMENT_TYPE: { doc: 'HLS segment container: ts or fmp4.', format: ['ts', 'fmp4'], default: 'ts', env: 'HLS_SEGMENT_TYPE' },
  FFMPEG_PATH: { doc: 'ffmpeg binary; unset searches PATH.', format: String, default: '', env: 'FFMPEG_PATH' },
  FFPROBE_PATH: { doc: 'ffprobe binary; unset searches PATH.', format: String, default: '', env: 'FFPROBE_PATH' },
  TRANSCODE_REQUEUE_MINUTES: { doc: 'A transcode job still queued this long after its last change gets its message sent again (complete-upload may have failed to send it); a running job whose worker went silent for longer than any of its messages can live is sent again too. Passes run every quarter of this, at most every minute.', format: 'positive-minutes', default: 15, env: 'TRANSCODE_REQUEUE_MINUTES' },
  FFMPEG_STALL_SECONDS: { doc: 'Kill an FFmpeg that shows no sign of work for this long: no progress, no stderr (and for the transcode, no segment closed, no input read).', format: 'seconds-1-43200', default: 300, env: 'FFMPEG_STALL_SECONDS' },

  // --- limits on uploaded media (transcode, chunk, reassemble): over one, the job fails as invalid input, never retried ---
  MAX_SOURCE_PIXELS: { doc: 'Largest picture (width × height) of any video stream of a source; the default is 8K UHD, 7680x4320.', format: 'pixel-count', default: 33_177_600, env: 'MAX_SOURCE_PIXELS' },
  MAX_SOURCE_DURATION_SECONDS: { doc: 'Longest source (its container\'s duration, as ffprobe reads it).', format: 'seconds-1-604800', default: 21_600, env: 'MAX_SOURCE_DURATION_SECONDS' },
  MAX_SOURCE_FRAME_RATE: { doc: 'Highest average frame rate of any video stream of a source (1 % over is taken for a variable rate\'s jitter). A 240 fps slow-motion clip needs 240.', format: 'positive-int', default: 120, env: 'MAX_SOURCE_FRAME_RATE' },
  MAX_SOURCE_STREAMS: { doc: 'Most streams (video, audio, subtitles, data) a source may hold; a phone video has 2 to 6.', format: 'positive-int', default: 32, env: 'MAX_SOURCE_STREAMS' },
  MAX_SEGMENTS_PER_JOB: { doc: 'Most segments of a stereo job: the chunk role refuses a source that would make more, reassembly a job that has more (at CHUNK_SEGMENT_DURATION_SEC 300, 6 h make 72).', format: 'segment-count', default: 1000, env: 'MAX_SEGMENTS_PER_JOB' },

  // --- cleanup ---
  CLEANUP_INTERVAL_SECONDS: { doc: 'Time between cleanup passes (seed: 6 h).', format: 'seconds-1-604800', default: 21_600, env: 'CLEANUP_INTERVAL_SECONDS' },
  CLEANUP_DELETE_CONCURRENCY: { doc: 'List/delete calls in flight at once during cleanup.', format: 'positive-int', default: 4, env: 'CLEANUP_DELETE_CONCURRENCY' },
  COACH_AUDIO_MAX_ATTEMPTS: { doc: 'Cleanup passes a coach-audio deletion (segment_insight_audio_deletions) may fail on a storage error before its row is marked failed for good.', format: 'positive-int', default: 5, env: 'COACH_AUDIO_MAX_ATTEMPTS' },

  // --- stereo pipeline (seeds 002, 004) ---
  INPUT_BUCKET_NAME: { doc: 'Input bucket: sources under input/{job_id}/ and segments/{job_id}/.', format: String, default: '', env: 'INPUT_BUCKET_NAME' },
  OUTPUT_BUCKET_NAME: { doc: 'Output bucket: jobs/{job_id}/segments/{idx}.mp4 and jobs/{job_id}/final.mp4.', format: String, default: '', env: 'OUTPUT_BUCKET_NAME' },
  JOBS_TABLE_NAME: { doc: 'DynamoDB Jobs table.', format: String, default: '', env: 'JOBS_TABLE_NAME' },
  SEGMENT_COMPLETIONS_TABLE_NAME: { doc: 'DynamoDB SegmentCompletions table.', format: String, default: '', env: 'SEGMENT_COMPLETIONS_TABLE_NAME' },
  REASSEMBLY_TRIGGERED_TABLE_NAME: { doc: 'DynamoDB ReassemblyTriggered table (one lock item per job).', format: String, default: '', env: 'REASSEMBLY_TRIGGERED_TABLE_NAME' },
  STEREO_TOPOLOGY: { doc: 'Which stereo-spot deployment the stereo roles serve: ecba15e (reassembly-trigger Lambda, segment-infer records completions), b622b25 (its main: split pipeline, job-status records completions) or auto (b622b25 when a variable only its task definitions set is present, e.g. PLATFORM=aws or OUTPUT_EVENTS_QUEUE_URL; else ecba15e). `doctor` says which and why.', format: [...TOPOLOGY_SETTINGS], default: 'auto', env: 'STEREO_TOPOLOGY' },
  INFERENCE_BACKEND: { doc: 'Segment inference: stub (the segment unchanged, as upstream), ffmpeg (a naive side-by-side or anaglyph, not depth-based 3D), sagemaker or http.', format: ['stub', 'ffmpeg', 'sagemaker', 'http'], default: 'stub', env: 'INFERENCE_BACKEND' },
  INFERENCE_HTTP_TIMEOUT_SECONDS: { doc: 'Longest an HTTP inference request may take.', format: 'seconds-1-86400', default: 3600, env: 'INFERENCE_HTTP_TIMEOUT_SECONDS' },
  CHUNK_SEGMENT_DURATION_SEC: { doc: 'Target segment length of the chunk role (cuts land on keyframes).', format: 'seconds-1-86400', default: 300, env: 'CHUNK_SEGMENT_DURATION_SEC' },
  TRIGGER_INTERVAL_SECONDS: { doc: 'Time between two passes of the trigger reconciler.', format: 'seconds-1-86400', default: 60, env: 'TRIGGER_INTERVAL_SECONDS' },
  REASSEMBLY_PROBE_CONCURRENCY: { doc: 'ffprobe runs in flight at once while reassembly counts the frames of each segment.', format: 'positive-int', default: 4, env: 'REASSEMBLY_PROBE_CONCURRENCY' },
  REASSEMBLY_STALE_SECONDS: { doc: 'A reassembly started longer ago than this without final.mp4 is given up and triggered again.', format: 'seconds-1-86400', default: 1800, env: 'REASSEMBLY_STALE_SECONDS' },
  SAGEMAKER_ENDPOINT_NAME: { doc: 'SageMaker endpoint (INFERENCE_BACKEND=sagemaker).', format: String, default: '', env: 'SAGEMAKER_ENDPOINT_NAME' },
  SAGEMAKER_REGION: { doc: 'Region of the SageMaker endpoint; defaults to AWS_REGION.', format: String, default: '', env: 'SAGEMAKER_REGION' },
  SAGEMAKER_ASYNC: { doc: 'true: SageMaker asynchronous inference (InvokeEndpointAsync, no 60 s limit): the request JSON goes to the output bucket and the worker waits for the output or failure object.', format: 'bool-string', default: false, env: 'SAGEMAKER_ASYNC' },
  SAGEMAKER_ASYNC_TIMEOUT_SECONDS: { doc: 'Longest wait for an asynchronous SageMaker result (also sent as its InvocationTimeoutSeconds, at most 3600).', format: 'seconds-1-86400', default: 3600, env: 'SAGEMAKER_ASYNC_TIMEOUT_SECONDS' },
  INFERENCE_HTTP_URL: { doc: 'Base URL of the inference server (INFERENCE_BACKEND=http); POSTs go to /invocations.', format: 'optional-http-url', default: '', env: 'INFERENCE_HTTP_URL' },
} satisfies Schema<Record<string, unknown>>;

type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : T;
export type ConfigKey = keyof typeof schema;
export type Config = { readonly [K in ConfigKey]: Widen<(typeof schema)[K]['default']> };

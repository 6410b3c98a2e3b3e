// Every queue in one catalogue: the operator's name (`dlq --queue NAME`, `jobs diagnose`'s
// `queues`), the setting holding its SQS URL, and its Redis stream (QUEUE_BACKEND=redis;
// the DLQ is `<stream>:dlq`, README "Queue backends").
import type { QueueUrlKey } from './requirements.js';

export const QUEUES = [
  { name: 'transcode', setting: 'SQS_TRANSCODE_QUEUE_URL', stream: 'rugbyworker:transcode' },
  { name: 'chunking', setting: 'CHUNKING_QUEUE_URL', stream: 'rugbyworker:chunking' },
  { name: 'video-worker', setting: 'VIDEO_WORKER_QUEUE_URL', stream: 'rugbyworker:video-worker' },
  { name: 'reassembly', setting: 'REASSEMBLY_QUEUE_URL', stream: 'rugbyworker:reassembly' },
] as const satisfies ReadonlyArray<{ name: string; setting: QueueUrlKey; stream: string }>;

type Entry = (typeof QUEUES)[number];
export type QueueName = Entry['name'];

// Every queue setting has its entry: a new QueueUrlKey without one does not compile.
const everySetting: [Exclude<QueueUrlKey, Entry['setting']>] extends [never] ? true : never = true;
void everySetting;

export const QUEUE_NAMES: readonly QueueName[] = QUEUES.map((q) => q.name);

export const QUEUE_SETTING = Object.fromEntries(QUEUES.map((q) => [q.name, q.setting])) as Readonly<Record<QueueName, QueueUrlKey>>;

/** The Redis stream behind a queue setting. */
export function redisStream(setting: QueueUrlKey): string {
  return (QUEUES.find((q) => q.setting === setting) as Entry).stream;
}

/** The stereo pipeline's queues, in the order a job passes them. */
export const STEREO_QUEUES = ['chunking', 'video-worker', 'reassembly'] as const satisfies readonly QueueName[];
export type StereoQueueName = (typeof STEREO_QUEUES)[number];

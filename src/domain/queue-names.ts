// The operator's names of the queues (`dlq --queue NAME`, `jobs diagnose`'s `queues`), each
// the queue setting behind it.
import type { QueueUrlKey } from './requirements.js';

export const QUEUE_NAMES = ['transcode', 'chunking', 'video-worker', 'reassembly'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const QUEUE_SETTING: Readonly<Record<QueueName, QueueUrlKey>> = {
  transcode: 'SQS_TRANSCODE_QUEUE_URL',
  chunking: 'CHUNKING_QUEUE_URL',
  'video-worker': 'VIDEO_WORKER_QUEUE_URL',
  reassembly: 'REASSEMBLY_QUEUE_URL',
};

/** The stereo pipeline's queues, in the order a job passes them. */
export const STEREO_QUEUES = ['chunking', 'video-worker', 'reassembly'] as const satisfies readonly QueueName[];
export type StereoQueueName = (typeof STEREO_QUEUES)[number];

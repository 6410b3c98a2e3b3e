// How many messages an SQS queue and its dead-letter queue hold (GetQueueAttributes'
// approximate counts): the roles' queue reports it on /metrics, the operators' side to `dlq`.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueDepth } from '../../ports/index.js';
import { isAccessDenied } from '../../domain/aws-error-codes.js';

export interface SqsCounts {
  visible: number;
  inflight: number;
  delayed: number;
}

export async function sqsCounts(client: SQSClient, queueUrl: string): Promise<SqsCounts> {
  const res = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const a = res.Attributes ?? {};
  const n = (v: string | undefined): number => Number.parseInt(v ?? '0', 10) || 0;
  return { visible: n(a.ApproximateNumberOfMessages), inflight: n(a.ApproximateNumberOfMessagesNotVisible), delayed: n(a.ApproximateNumberOfMessagesDelayed) };
}

/** Every letter of a DLQ, hidden and delayed ones included. */
export async function dlqCount(client: SQSClient, dlqUrl: string): Promise<number> {
  const c = await sqsCounts(client, dlqUrl);
  return c.visible + c.inflight + c.delayed;
}

/**
 * The main queue's counts (delayed sends as waiting) and its DLQ's, null without one. With
 * `onDlqRefused`, a DLQ the IAM policy will not count (upstream's stereo task roles grant
 * GetQueueAttributes on the main queues only) is reported as null, not as a failed depth.
 */
export async function sqsDepth(client: SQSClient, queueUrl: string, dlqUrl: string | null, onDlqRefused?: (err: unknown) => void): Promise<QueueDepth> {
  const dead = (url: string): Promise<number | null> => dlqCount(client, url).catch((err: unknown) => {
    if (!onDlqRefused || !isAccessDenied(err)) throw err;
    onDlqRefused(err);
    return null;
  });
  const [main, dlq] = await Promise.all([sqsCounts(client, queueUrl), dlqUrl === null ? null : dead(dlqUrl)]);
  return { visible: main.visible + main.delayed, inflight: main.inflight, dlq };
}

// How many messages an SQS queue and its dead-letter queue hold (GetQueueAttributes'
// approximate counts): the roles' queue reports it on /metrics, the operators' side to `dlq`.
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueDepth } from '../../ports/index.js';

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

/** The main queue's counts (delayed sends as waiting) and its DLQ's, null without one. */
export async function sqsDepth(client: SQSClient, queueUrl: string, dlqUrl: string | null): Promise<QueueDepth> {
  const [main, dlq] = await Promise.all([sqsCounts(client, queueUrl), dlqUrl === null ? null : dlqCount(client, dlqUrl)]);
  return { visible: main.visible + main.delayed, inflight: main.inflight, dlq };
}

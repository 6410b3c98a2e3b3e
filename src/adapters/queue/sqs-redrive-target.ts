// Where a queue's dead letters go: its RedrivePolicy (GetQueueAttributes) and the DLQ's URL
// (GetQueueUrl). Shared by the queue adapter and `doctor`, so both find the same DLQ.
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isAccessDenied } from '../../domain/aws-error-codes.js';
import { parseQueueArn, parseRedrivePolicy, queueNameFromUrl, siblingQueueUrl } from './sqs-parse.js';

export interface DeadLetterTarget {
  url: string;
  arn: string;
  /** The main queue's ARN: where a move task sends the letters. */
  sourceArn: string;
}

export interface RedriveTarget {
  /** null when the queue has no RedrivePolicy. */
  dlq: DeadLetterTarget | null;
  maxReceiveCount: number | null;
}

/**
 * Reads the RedrivePolicy; a refused GetQueueAttributes rejects as the service answered. A
 * refused GetQueueUrl is not needed: a DLQ is in its queue's account and region, so its URL
 * is the queue's with the name changed (`onUrlRefused` is told, to say so once).
 */
export async function readRedriveTarget(client: SQSClient, queueUrl: string, onUrlRefused?: (dlqName: string, err: unknown) => void): Promise<RedriveTarget> {
  const name = queueNameFromUrl(queueUrl);
  const res = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy', 'QueueArn'] }));
  const policy = parseRedrivePolicy(res.Attributes?.RedrivePolicy);
  if (!policy) return { dlq: null, maxReceiveCount: null };
  const arn = parseQueueArn(policy.deadLetterTargetArn);
  if (!arn) throw new Error(`queue ${name}: RedrivePolicy has an unusable deadLetterTargetArn ${policy.deadLetterTargetArn}`);
  let url: string | undefined;
  try {
    url = (await client.send(new GetQueueUrlCommand({ QueueName: arn.name, QueueOwnerAWSAccountId: arn.account }))).QueueUrl;
  } catch (err) {
    if (!isAccessDenied(err)) throw err;
    onUrlRefused?.(arn.name, err);
    url = siblingQueueUrl(queueUrl, arn.name);
  }
  if (!url) throw new Error(`queue ${name}: no URL for its dead-letter queue ${arn.name}`);
  const sourceArn = res.Attributes?.QueueArn ?? `arn:aws:sqs:${arn.region}:${arn.account}:${name}`;
  return { dlq: { url, arn: policy.deadLetterTargetArn, sourceArn }, maxReceiveCount: policy.maxReceiveCount };
}

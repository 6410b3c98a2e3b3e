// The queue a `dlq` command works on: the main queue named by --queue, whose dead-letter
// queue the adapter finds (SQS: its RedrivePolicy; Redis Streams: `<stream>:dlq`).
import { QUEUE_SETTING, type QueueName } from '../../domain/queue-names.js';
import type { RoleNeeds } from '../../domain/requirements.js';
import type { DeadLetterQueue } from '../../ports/index.js';
import { EXIT, UserError } from '../../runtime/errors.js';
import { attempt, queueCall, queueResource, type OperatorContext } from '../operator.js';

export function dlqNeeds(name: QueueName): RoleNeeds {
  return { consumes: QUEUE_SETTING[name] };
}

export interface DeadLetterTarget {
  queue: DeadLetterQueue;
  /** Dead letters now (approximate on SQS). */
  count: number;
  /** For failure lines: the call and resource of an operation on the DLQ. */
  on(op: 'peek' | 'redrive' | 'purge'): [call: string, resource: string];
}

export async function openDeadLetters(ctx: OperatorContext, name: QueueName): Promise<DeadLetterTarget> {
  const key = QUEUE_SETTING[name];
  const resource = queueResource(ctx.config, key);
  const queue = await attempt(queueCall(ctx.config, 'open'), resource, () => ctx.ports.deadLetters(key));
  const { dlq } = await attempt(queueCall(ctx.config, 'depth'), resource, () => queue.depth());
  if (dlq === null) throw new UserError(`queue ${queue.name} (${key}) has no dead-letter queue (no RedrivePolicy)`, EXIT.FAILURE);
  return { queue, count: dlq, on: (op) => [queueCall(ctx.config, op), `the DLQ of ${resource}`] };
}

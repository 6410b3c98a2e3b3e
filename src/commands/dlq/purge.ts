// `rugbyworker dlq purge --queue NAME [--yes]`: seed 002 runbook 2's discard. Every dead
// letter of the queue is deleted, after a confirmation on a terminal (or --yes).
import type { QueueName } from '../../domain/queue-names.js';
import { EXIT } from '../../runtime/errors.js';
import { confirm, notConfirmed } from '../confirm.js';
import { attempt, type OperatorContext } from '../operator.js';
import { openDeadLetters } from './target.js';

export async function purgeDeadLetters(ctx: OperatorContext, args: { queue: QueueName; yes: boolean }): Promise<number> {
  const target = await openDeadLetters(ctx, args.queue);
  const what = `delete the ${target.count} dead letter${target.count === 1 ? '' : 's'} of ${target.queue.name} for good`;
  if (target.count === 0) {
    ctx.io.stdout(`the DLQ of ${target.queue.name} is empty: nothing to purge\n`);
    return EXIT.OK;
  }
  const answer = await confirm(`Will ${what}. Continue?`, { yes: args.yes, terminal: ctx.terminal });
  if (answer !== 'yes') throw notConfirmed(answer, what);
  const purged = await attempt(...target.on('purge'), () => target.queue.purgeDeadLetters());
  // SQS: PurgeQueue may take up to 60 s to take effect, and allows one purge a minute.
  ctx.io.stdout(`purged ${purged} dead letter${purged === 1 ? '' : 's'} of ${target.queue.name}\n`);
  return EXIT.OK;
}

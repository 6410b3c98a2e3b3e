// `rugbyworker dlq replay --queue NAME [--yes]`: seed 002 runbook 2's replay. The dead
// letters go back to the main queue as new messages, after a confirmation on a terminal (or
// --yes). How they move decides what an interruption can leave, and the command says which
// before it starts: SQS's own move task (it goes on without us), a copy one at a time (at
// most the letter in hand ends up in both queues, none is lost), or atomic batches (Redis).
import type { QueueName } from '../../domain/queue-names.js';
import type { RedriveMethod, RedriveProgress } from '../../ports/index.js';
import { EXIT } from '../../runtime/errors.js';
import { confirm, notConfirmed } from '../confirm.js';
import { attempt, type OperatorContext } from '../operator.js';
import { openDeadLetters } from './target.js';

/** 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C. */
const INTERRUPTED = 130;
/** A progress line every this many letters (the last one always). */
const EVERY = 10;

const HOW: Record<RedriveMethod, string> = {
  'move-task': 'SQS moves them itself (StartMessageMoveTask); stopping this command does not stop the task',
  copy: 'one at a time: receive from the DLQ, send to the queue, delete from the DLQ (this SQS endpoint has no StartMessageMoveTask); '
    + 'if this is interrupted no message is lost, and at most the one in hand ends up in both queues (delivered twice); Ctrl-C stops after it',
  atomic: 'in atomic batches: an interruption leaves every letter in exactly one of the two',
};

export async function replayDeadLetters(ctx: OperatorContext, args: { queue: QueueName; yes: boolean }): Promise<number> {
  const { io } = ctx;
  const target = await openDeadLetters(ctx, args.queue);
  const name = target.queue.name;
  if (target.count === 0) {
    io.stdout(`the DLQ of ${name} is empty: nothing to replay\n`);
    return EXIT.OK;
  }
  const what = `move the ${target.count} dead letter${target.count === 1 ? '' : 's'} of ${name} back to it`;
  const answer = await confirm(`Will ${what}. Continue?`, { yes: args.yes, terminal: ctx.terminal });
  if (answer !== 'yes') throw notConfirmed(answer, what);

  let method: RedriveMethod | undefined;
  let taskHandle: string | undefined;
  let shown = 0;
  const onProgress = (p: RedriveProgress): void => {
    if (p.kind === 'started') {
      method = p.method;
      taskHandle = p.taskHandle;
      io.stderr(`replaying ${p.waiting} dead letter${p.waiting === 1 ? '' : 's'} to ${name} ${HOW[p.method]}${p.taskHandle ? ` (task ${p.taskHandle})` : ''}\n`);
    } else if (p.moved - shown >= EVERY || p.moved >= target.count) {
      shown = p.moved;
      io.stderr(`moved ${p.moved}\n`);
    }
  };
  const moved = await attempt(...target.on('redrive'), () => target.queue.redrive({ signal: ctx.interrupted, onProgress }));
  if (!ctx.interrupted.aborted) {
    io.stdout(`replayed ${moved} dead letter${moved === 1 ? '' : 's'} to ${name}\n`);
    return EXIT.OK;
  }
  io.stdout(method === 'move-task'
    ? `stopped waiting after ${moved} moved; the move task${taskHandle ? ` ${taskHandle}` : ''} goes on in SQS (aws sqs cancel-message-move-task stops it)\n`
    : `interrupted after replaying ${moved}: the letter in hand was finished, none is in both queues; the rest stay in the DLQ (run replay again)\n`);
  return INTERRUPTED;
}

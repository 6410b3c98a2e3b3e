// `rugbyworker dlq inspect --queue NAME [--max N] [--json]`: seed 002 runbook 2's "receive
// without deleting": each dead letter's id, receive count, body and, where this worker
// dead-lettered it, the reason. Peeking leaves every letter where it is (on SQS it counts as
// a receive: ApproximateReceiveCount includes the peeks). A dead letter is whatever someone
// sent: its control characters are printed escaped (a body's line breaks kept, indented),
// never obeyed by the operator's terminal.
import type { QueueName } from '../../domain/queue-names.js';
import type { DeadLetter } from '../../ports/index.js';
import { EXIT } from '../../runtime/errors.js';
import { escapeControlChars, terminalSafeJson } from '../../runtime/terminal-text.js';
import { attempt, type OperatorContext } from '../operator.js';
import { openDeadLetters } from './target.js';

export async function inspectDeadLetters(ctx: OperatorContext, args: { queue: QueueName; max: number; json: boolean }): Promise<number> {
  const target = await openDeadLetters(ctx, args.queue);
  const letters: DeadLetter[] = await attempt(...target.on('peek'), () => target.queue.peekDeadLetters(args.max));
  const { io } = ctx;
  if (args.json) {
    io.stdout(`${terminalSafeJson(JSON.stringify({
      queue: args.queue, dead_letters: target.count,
      messages: letters.map((l) => ({ id: l.id, receive_count: l.receiveCount ?? null, reason: l.reason, body: l.body })),
    }))}\n`);
    return EXIT.OK;
  }
  io.stdout(`${target.count} dead letter${target.count === 1 ? '' : 's'} in the DLQ of ${target.queue.name}${letters.length < target.count ? ` (showing ${letters.length}; --max N for more)` : ''}\n`);
  for (const l of letters) {
    const body = escapeControlChars(l.body, { multiline: true }).replace(/\n/g, '\n  ');
    io.stdout(`\n${escapeControlChars(l.id)}  received ${l.receiveCount ?? '?'} time${l.receiveCount === 1 ? '' : 's'}  reason: ${l.reason === null ? '(none recorded)' : escapeControlChars(l.reason)}\n  ${body}\n`);
  }
  return EXIT.OK;
}

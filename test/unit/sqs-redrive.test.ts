// SqsDeadLetters.redrive's StartMessageMoveTask path, which fauxqs does not have (it answers
// InvalidAction, so the integration tests run the copy): a scripted SQS client plays the
// service's side as the SQS API reference describes it (StartMessageMoveTask → TaskHandle;
// ListMessageMoveTasks, most recent first, Status RUNNING → COMPLETED | FAILED | CANCELLED,
// ApproximateNumberOfMessagesMoved). What it checks is ours: the letters go to this queue
// (DestinationArn), the wait follows the task to its end, a failed task is an error, a
// stopped wait leaves the task running, and InvalidAction falls back to the copy.
import { describe, expect, it } from '@jest/globals';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetters } from '../../src/adapters/queue/sqs-dead-letters.js';
import type { RedriveProgress } from '../../src/ports/index.js';

const MAIN_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/stereo-spot-chunking';
const MAIN_ARN = 'arn:aws:sqs:us-east-1:123456789012:stereo-spot-chunking';
const DLQ_URL = `${MAIN_URL}-dlq`;
const DLQ_ARN = `${MAIN_ARN}-dlq`;

type Input = Record<string, unknown>;
type Answer = (input: Input) => unknown;

/** A client whose answers per command name are scripted; every call is recorded. */
function scripted(answers: Record<string, Answer>): { client: SQSClient; calls: Array<{ name: string; input: Input }> } {
  const calls: Array<{ name: string; input: Input }> = [];
  const client = {
    send: async (command: { constructor: { name: string }; input: Input }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ name, input: command.input });
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(command.input);
    },
  } as unknown as SQSClient;
  return { client, calls };
}

const queueAttributes: Answer = (input) => (input.QueueUrl === MAIN_URL && (input.AttributeNames as string[]).includes('RedrivePolicy')
  ? { Attributes: { QueueArn: MAIN_ARN, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 5 }) } }
  : { Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } });

function moveTaskService(statuses: Array<{ Status: string; moved: number; FailureReason?: string }>): Record<string, Answer> {
  let i = 0;
  return {
    GetQueueAttributes: queueAttributes,
    GetQueueUrl: () => ({ QueueUrl: DLQ_URL }),
    StartMessageMoveTask: () => ({ TaskHandle: 'task-1' }),
    ListMessageMoveTasks: () => {
      const s = statuses[Math.min(i++, statuses.length - 1)]!;
      return { Results: [{ Status: s.Status, SourceArn: DLQ_ARN, DestinationArn: MAIN_ARN, ApproximateNumberOfMessagesMoved: s.moved, FailureReason: s.FailureReason }] };
    },
  };
}

describe('SqsDeadLetters.redrive with StartMessageMoveTask', () => {
  it('moves the letters to this queue and waits for the task to complete', async () => {
    const { client, calls } = scripted(moveTaskService([{ Status: 'RUNNING', moved: 1 }, { Status: 'RUNNING', moved: 2 }, { Status: 'COMPLETED', moved: 3 }]));
    const queue = await SqsDeadLetters.open({ client, queueUrl: MAIN_URL, moveTaskPollMs: 1 });
    const events: RedriveProgress[] = [];
    expect(await queue.redrive({ onProgress: (p) => events.push(p) })).toBe(3);
    expect(calls.find((c) => c.name === 'StartMessageMoveTask')?.input).toEqual({ SourceArn: DLQ_ARN, DestinationArn: MAIN_ARN });
    expect(events).toEqual([
      { kind: 'started', method: 'move-task', waiting: 3, taskHandle: 'task-1' },
      { kind: 'moved', moved: 1 }, { kind: 'moved', moved: 2 }, { kind: 'moved', moved: 3 },
    ]);
    // Nothing was received or sent by us: the service moved them.
    expect(calls.map((c) => c.name)).not.toContain('ReceiveMessage');
  });

  it('a failed task is an error naming the DLQ and the reason', async () => {
    const { client } = scripted(moveTaskService([{ Status: 'FAILED', moved: 1, FailureReason: 'AccessDenied on the destination' }]));
    const queue = await SqsDeadLetters.open({ client, queueUrl: MAIN_URL, moveTaskPollMs: 1 });
    await expect(queue.redrive()).rejects.toThrow(`message move task from ${DLQ_ARN} failed after 1 moved: AccessDenied on the destination`);
  });

  it('a stopped wait returns what moved so far and leaves the task running (no cancel)', async () => {
    const { client, calls } = scripted(moveTaskService([{ Status: 'RUNNING', moved: 1 }]));
    const queue = await SqsDeadLetters.open({ client, queueUrl: MAIN_URL, moveTaskPollMs: 5 });
    const stop = new AbortController();
    const moved = queue.redrive({ signal: stop.signal, onProgress: (p) => { if (p.kind === 'moved') stop.abort(); } });
    expect(await moved).toBe(1);
    expect(calls.map((c) => c.name)).not.toContain('CancelMessageMoveTask');
  });

  it('InvalidAction (fauxqs, older emulators): the copy, one letter at a time, once and for all', async () => {
    const letters = ['a', 'b'];
    const answers: Record<string, Answer> = {
      GetQueueAttributes: queueAttributes,
      GetQueueUrl: () => ({ QueueUrl: DLQ_URL }),
      StartMessageMoveTask: () => { throw Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }); },
      ReceiveMessage: (input) => {
        expect(input).toEqual(expect.objectContaining({ QueueUrl: DLQ_URL, MaxNumberOfMessages: 1 }));
        const body = letters[0];
        return { Messages: body === undefined ? [] : [{ MessageId: body, ReceiptHandle: `rh-${body}`, Body: body }] };
      },
      SendMessage: (input) => { expect(input.QueueUrl).toBe(MAIN_URL); return {}; },
      DeleteMessage: (input) => { expect(input.ReceiptHandle).toBe(`rh-${letters.shift()}`); return {}; },
    };
    const { client, calls } = scripted(answers);
    const queue = await SqsDeadLetters.open({ client, queueUrl: MAIN_URL });
    const events: RedriveProgress[] = [];
    expect(await queue.redrive({ onProgress: (p) => events.push(p) })).toBe(2);
    expect(events[0]).toEqual({ kind: 'started', method: 'copy', waiting: 3 });
    // Each letter: sent to the main queue before it is deleted from the DLQ.
    expect(calls.map((c) => c.name).filter((n) => n === 'SendMessage' || n === 'DeleteMessage')).toEqual(['SendMessage', 'DeleteMessage', 'SendMessage', 'DeleteMessage']);
    letters.push('c');
    expect(await queue.redrive()).toBe(1);
    expect(calls.filter((c) => c.name === 'StartMessageMoveTask')).toHaveLength(1); // not asked again
  });
});

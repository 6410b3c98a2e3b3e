// The operators' side of an SQS queue (`dlq inspect|replay|purge`, `jobs diagnose`): its
// dead-letter queue, found through the main queue's RedrivePolicy, and the depths of both.
// No role uses it; the roles' side is sqs.ts.
import {
  DeleteMessageCommand,
  ListMessageMoveTasksCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { sleep } from '../../runtime/retry.js';
import type { DeadLetter, DeadLetterQueue, QueueDepth, RedriveOptions } from '../../ports/index.js';
import { isAccessDenied } from '../../domain/aws-error-codes.js';
import { isUnsupportedOperation } from './sqs-errors.js';
import { readRedriveTarget, type DeadLetterTarget, type RedriveTarget } from './sqs-redrive-target.js';
import { SqsRefusals } from './sqs-refusals.js';
import { dlqCount, sqsDepth } from './sqs-depth.js';
import { REASON_ATTRIBUTE, queueNameFromUrl, toDeadLetter } from './sqs-parse.js';

// The lease on the one letter a copying redrive holds: one send and one delete. Short, so a
// letter whose redrive was killed is back in the DLQ soon; a lapse does no harm while nobody
// else reads the DLQ (the loop receives the next letter only after the delete).
const REDRIVE_LEASE_SECONDS = 10;

export interface SqsDeadLettersOptions {
  client: SQSClient;
  /** The main queue's URL. */
  queueUrl: string;
  logger?: Logger;
  /** How often a redrive asks how its message move task is getting on (default 1000). */
  moveTaskPollMs?: number;
}

export class SqsDeadLetters implements DeadLetterQueue {
  readonly name: string;
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger | undefined;
  private readonly moveTaskPollMs: number;
  private readonly refusals: SqsRefusals;
  private target: Promise<RedriveTarget> | undefined;
  private moveTaskUnsupported = false;

  /**
   * Constructs and reads the RedrivePolicy, so a queue that is not there fails here. A
   * refused GetQueueAttributes fails each call instead, with the service's answer.
   */
  static async open(opts: SqsDeadLettersOptions): Promise<SqsDeadLetters> {
    const letters = new SqsDeadLetters(opts);
    await letters.redriveTarget().catch((err: unknown) => {
      if (!isAccessDenied(err)) throw err;
    });
    return letters;
  }

  constructor(opts: SqsDeadLettersOptions) {
    this.client = opts.client;
    this.queueUrl = opts.queueUrl;
    this.logger = opts.logger;
    this.moveTaskPollMs = opts.moveTaskPollMs ?? 1000;
    this.refusals = new SqsRefusals(opts.logger);
    this.name = queueNameFromUrl(opts.queueUrl);
  }

  /** Receives from the DLQ with VisibilityTimeout 0, so peeking leaves the letters where they are. */
  async peekDeadLetters(max: number): Promise<DeadLetter[]> {
    const { dlq } = await this.redriveTarget();
    if (!dlq || max <= 0) return [];
    const out = new Map<string, DeadLetter>();
    // Each call may return letters seen before: stop when a call brings nothing new.
    for (let round = 0; out.size < max && round < Math.ceil(max / 10) + 2; round++) {
      const res = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: dlq.url,
          MaxNumberOfMessages: Math.min(10, max - out.size),
          WaitTimeSeconds: 0,
          VisibilityTimeout: 0,
          MessageAttributeNames: [REASON_ATTRIBUTE],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      let fresh = 0;
      for (const raw of res.Messages ?? []) {
        const letter = toDeadLetter(raw);
        if (letter && !out.has(letter.id)) {
          out.set(letter.id, letter);
          fresh++;
        }
      }
      if (fresh === 0) break;
    }
    return [...out.values()].slice(0, max);
  }

  /**
   * StartMessageMoveTask where the service has it (then waits for the task, which goes on
   * if the caller stops waiting), else the copy: see redriveByCopy.
   */
  async redrive(opts: RedriveOptions = {}): Promise<number> {
    const dlq = await this.requireDlq();
    if (!this.moveTaskUnsupported) {
      const waiting = await dlqCount(this.client, dlq.url);
      let taskHandle: string | undefined;
      try {
        // DestinationArn this queue: SQS's default ("back to the source") knows only letters its
        // redrive policy moved, not those deadLetter() sent.
        taskHandle = (await this.client.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: dlq.sourceArn }))).TaskHandle ?? '';
      } catch (err) {
        if (!isUnsupportedOperation(err)) throw err;
        this.moveTaskUnsupported = true;
        this.logger?.debug({ queue: this.name }, 'sqs_move_task_unsupported_using_copy');
      }
      if (taskHandle !== undefined) {
        opts.onProgress?.({ kind: 'started', method: 'move-task', waiting, taskHandle });
        return this.awaitMoveTask(dlq.arn, opts);
      }
    }
    return this.redriveByCopy(dlq.url, opts);
  }

  async depth(): Promise<QueueDepth> {
    const { dlq } = await this.redriveTarget();
    return sqsDepth(this.client, this.queueUrl, dlq?.url ?? null);
  }

  async purgeDeadLetters(): Promise<number> {
    const { dlq } = await this.redriveTarget();
    if (!dlq) return 0;
    const count = await dlqCount(this.client, dlq.url);
    await this.client.send(new PurgeQueueCommand({ QueueUrl: dlq.url }));
    return count;
  }

  /**
   * Copies letters back as new messages (receive count starts again), one at a time: receive,
   * send, delete. Killed between the send and the delete, the letter in hand is in both
   * queues (delivered twice); at any other point it is in one. Never in neither.
   */
  private async redriveByCopy(dlqUrl: string, opts: RedriveOptions): Promise<number> {
    opts.onProgress?.({ kind: 'started', method: 'copy', waiting: await dlqCount(this.client, dlqUrl) });
    let moved = 0;
    while (!opts.signal?.aborted) {
      // A 1 s long poll asks every SQS server, so an empty answer means the DLQ is empty.
      const res = await this.client.send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, VisibilityTimeout: REDRIVE_LEASE_SECONDS }),
      );
      const m = (res.Messages ?? []).find((x): x is Message & { ReceiptHandle: string } => Boolean(x.ReceiptHandle));
      if (!m) break;
      await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: m.Body ?? '' }));
      await this.client.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle }));
      moved++;
      opts.onProgress?.({ kind: 'moved', moved });
    }
    return moved;
  }

  /** Polls the DLQ's latest move task (one runs at a time per source) until it ends or `signal` aborts. */
  private async awaitMoveTask(dlqArn: string, opts: RedriveOptions): Promise<number> {
    let moved = 0;
    for (let unlisted = 0; ; ) {
      const [task] = (await this.client.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 1 }))).Results ?? [];
      const now = task?.ApproximateNumberOfMessagesMoved ?? moved;
      if (now !== moved) opts.onProgress?.({ kind: 'moved', moved: now });
      moved = now;
      // A task just started may not be listed yet: a few polls' patience, then take it as done.
      const status = task?.Status ?? (++unlisted > 5 ? 'COMPLETED' : 'RUNNING');
      if (status === 'FAILED') throw new Error(`message move task from ${dlqArn} failed after ${moved} moved: ${task?.FailureReason ?? 'no reason given'}`);
      if (status !== 'RUNNING' && status !== 'CANCELLING') return moved;
      if (opts.signal?.aborted) return moved;
      await sleep(this.moveTaskPollMs, opts.signal).catch(() => undefined);
    }
  }

  private async requireDlq(): Promise<DeadLetterTarget> {
    const { dlq } = await this.redriveTarget();
    if (!dlq) throw new Error(`queue ${this.name} has no dead-letter queue (no RedrivePolicy)`);
    return dlq;
  }

  /** Read once; a refused GetQueueAttributes rejects with the service's answer, never reads as "no DLQ". */
  private redriveTarget(): Promise<RedriveTarget> {
    this.target ??= readRedriveTarget(this.client, this.queueUrl, (dlqName, err) => this.refusals.note('GetQueueUrl', 'dlq', dlqName, err)).catch((err: unknown) => {
      this.target = undefined; // a failed read (network, credentials, a refusal) is tried again next time
      throw err;
    });
    return this.target;
  }
}

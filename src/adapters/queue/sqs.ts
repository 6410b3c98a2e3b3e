// Queue port over Amazon SQS (or any SQS endpoint such as fauxqs), as the roles use it. The
// dead-letter queue and maxReceiveCount come from the main queue's RedrivePolicy, read once.
// A call the IAM policy refuses that the worker can do without (reading the policy, sending
// to the DLQ) is logged once and replaced by what the Python worker relies on: the queue's
// redrive policy. The operators' side (peek, redrive, purge, depth): sqs-dead-letters.ts.
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { Config } from '../../runtime/config/schema.js';
import { awsOptions } from '../aws/client-config.js';
import { sleep } from '../../runtime/retry.js';
import { LeaseLostError } from '../../ports/index.js';
import type { Queue, QueueDepth, QueueMessage } from '../../ports/index.js';
import { MicroBatcher, type BatchOutcome } from './micro-batcher.js';
import { isAbortError, isCredentialError, isLeaseLostError } from './sqs-errors.js';
import { isAccessDenied } from '../../domain/aws-error-codes.js';
import { readRedriveTarget, type RedriveTarget } from './sqs-redrive-target.js';
import { SqsRefusals } from './sqs-refusals.js';
import { sqsDepth } from './sqs-depth.js';
import {
  REASON_ATTRIBUTE,
  batchSizes,
  queueNameFromUrl,
  toQueueMessage,
  wholeSeconds,
} from './sqs-parse.js';

const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_WAIT_SECONDS = 20;
const MAX_DELAY_SECONDS = 900;
// Held while a dead letter is copied, so the original cannot be redelivered meanwhile.
const DEAD_LETTER_LEASE_SECONDS = 60;

export interface SqsQueueOptions {
  client: SQSClient;
  queueUrl: string;
  logger?: Logger;
  /** Pause after a credentials error on receive, instead of retrying in a tight loop. */
  credentialBackoffMs?: number;
  /** maxReceiveCount to assume when the RedrivePolicy may not be read (default 3, the live transcode queue's). */
  assumedMaxReceiveCount?: number;
  /** The queue's own visibility timeout is the lease: ChangeMessageVisibility is not required (src/domain/sqs-permissions.ts leaseOptional). */
  leaseOptional?: boolean;
}

/** The redrive target, or, when GetQueueAttributes was refused, the refusal (the DLQ unknown, maxReceiveCount assumed). */
type Redrive = RedriveTarget & { refused?: unknown };

/**
 * An SQS client for the configuration. With AWS_ENDPOINT_URL every call goes there,
 * never to a queue URL's host (emulators hand out URLs whose host need not resolve);
 * without it, a queue URL's host picks the region's endpoint, as the SDK does.
 */
export function createSqsClient(config: Config): SQSClient {
  const { region, endpoint, credentials, maxAttempts, requestHandler } = awsOptions(config, 'sqs');
  return new SQSClient({ region, endpoint, credentials, maxAttempts, requestHandler, useQueueUrlAsEndpoint: endpoint === undefined });
}

export class SqsQueue implements Queue {
  readonly name: string;
  private readonly client: SQSClient;
  private readonly queueUrl: string;
  private readonly logger: Logger | undefined;
  private readonly credentialBackoffMs: number;
  private readonly closing = new AbortController();
  private readonly assumedMaxReceiveCount: number;
  private readonly refusals: SqsRefusals;
  private dlqDepthRefused = false;
  private attributes: Promise<Redrive> | undefined;
  private cachedMaxReceiveCount: number | null = null;
  /** The visibility each message was received with: how long a message left for the redrive policy stays hidden. */
  private readonly receivedVisibility = new WeakMap<QueueMessage, number>();
  private credentialTrouble = false;
  /** ChangeMessageVisibility refused by the IAM policy: the refusal, so it is not asked again. */
  private leaseRefused: unknown;
  private readonly background = new Set<Promise<void>>();
  private readonly deletes = new MicroBatcher<QueueMessage>((msgs) => this.deleteBatch(msgs));
  private readonly visibility = new MicroBatcher<{ msg: QueueMessage; seconds: number }>((items) => this.visibilityBatch(items));

  /** Constructs and reads the queue's RedrivePolicy, so `maxReceiveCount` is known at once. */
  static async open(opts: SqsQueueOptions): Promise<SqsQueue> {
    const queue = new SqsQueue(opts);
    await queue.init();
    return queue;
  }

  constructor(opts: SqsQueueOptions) {
    this.client = opts.client;
    this.queueUrl = opts.queueUrl;
    this.logger = opts.logger;
    this.credentialBackoffMs = opts.credentialBackoffMs ?? 10_000;
    this.assumedMaxReceiveCount = opts.assumedMaxReceiveCount ?? 3;
    this.refusals = new SqsRefusals(opts.logger, opts.leaseOptional === true);
    this.name = queueNameFromUrl(opts.queueUrl);
  }

  /**
   * From the RedrivePolicy; null until `init()` (or a dead-lettering) has read it, or
   * without one; `assumedMaxReceiveCount` when the policy may not be read.
   */
  get maxReceiveCount(): number | null {
    return this.cachedMaxReceiveCount;
  }

  /**
   * Reads the RedrivePolicy once; later calls share the result. A refused GetQueueAttributes
   * does not reject (an AccessDenied proves the credentials themselves good); bad credentials do.
   */
  async init(): Promise<void> {
    await this.redriveTarget();
  }

  async receive(opts: { max: number; waitSeconds: number; visibilitySeconds?: number; signal?: AbortSignal }): Promise<QueueMessage[]> {
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.closing.signal]) : this.closing.signal;
    if (signal.aborted) return [];
    const wait = wholeSeconds(opts.waitSeconds, MAX_WAIT_SECONDS);
    const visibility = opts.visibilitySeconds === undefined ? undefined : wholeSeconds(opts.visibilitySeconds, MAX_VISIBILITY_SECONDS);
    // Only the first call long-polls: the batch must come back as soon as anything is
    // there, not when the last of several long polls times out. The others take what
    // is already waiting.
    const polled = this.poll(opts.max, wait, visibility);
    this.track(polled);
    const outcome = await Promise.race([polled.then((r) => ({ r }), (err: unknown) => ({ err })), untilAborted(signal)]);
    if (outcome === 'aborted') {
      // The HTTP long poll is NOT aborted: SQS (fauxqs alike) still hands messages to a poll
      // whose connection was closed, and they would stay hidden for a whole visibility
      // timeout. It finishes (within `wait`), and whatever it brings is given back at once.
      this.track(polled.then((msgs) => Promise.allSettled(msgs.map((m) => this.release(m, 0)))));
      return [];
    }
    if ('r' in outcome) return outcome.r;
    const failure = outcome.err;
    if (!isCredentialError(failure)) throw failure;
    // Log once per outage, then wait: a tight loop would only burn CPU and API calls.
    if (!this.credentialTrouble) {
      this.credentialTrouble = true;
      // A policy without ReceiveMessage is not a credentials problem: say which permission.
      if (isAccessDenied(failure)) this.refusals.note('ReceiveMessage', 'queue', this.name, failure);
      else this.logger?.error({ err: failure, queue: this.name, backoffMs: this.credentialBackoffMs }, 'sqs_credentials_error');
    }
    await sleep(this.credentialBackoffMs, signal).catch(() => undefined);
    return [];
  }

  /** One receive round: resolves the messages, or rejects when nothing came and a call failed. */
  private async poll(max: number, wait: number, visibility: number | undefined): Promise<QueueMessage[]> {
    const calls = batchSizes(max).map((size, i) =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: size,
          WaitTimeSeconds: i === 0 ? wait : 0,
          VisibilityTimeout: visibility,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      ),
    );
    const settled = await Promise.allSettled(calls);
    const messages: QueueMessage[] = [];
    const seen = new Set<string>();
    let failure: unknown;
    for (const s of settled) {
      if (s.status === 'rejected') {
        if (!isAbortError(s.reason)) failure ??= s.reason;
        continue;
      }
      for (const raw of s.value.Messages ?? []) {
        const m = toQueueMessage(raw);
        if (m && !seen.has(m.receipt)) {
          seen.add(m.receipt);
          messages.push(m);
          if (visibility !== undefined) this.receivedVisibility.set(m, visibility);
        }
      }
    }
    // Messages already received are leased to us: return them even if a sibling call failed.
    if (messages.length > 0 || failure === undefined) {
      if (failure !== undefined) this.logger?.warn({ err: failure, queue: this.name }, 'sqs_receive_partial_failure');
      if (this.credentialTrouble && failure === undefined) {
        this.credentialTrouble = false;
        this.logger?.info({ queue: this.name }, 'sqs_credentials_recovered');
      }
      return messages;
    }
    throw failure;
  }

  private track(p: Promise<unknown>): void {
    const settled = p.then(() => undefined, () => undefined);
    this.background.add(settled);
    void settled.then(() => this.background.delete(settled));
  }

  /** A refused ChangeMessageVisibility rejects with the refusal (noted once, and not asked again: the same refusal rejects at once). */
  async extend(msg: QueueMessage, seconds: number): Promise<void> {
    await this.leaseCall(msg, wholeSeconds(seconds, MAX_VISIBILITY_SECONDS), 'extend');
  }

  /** Where ChangeMessageVisibility is refused, nothing: the message comes back when its visibility ends, as the Python workers rely on. */
  async release(msg: QueueMessage, delaySeconds = 0): Promise<void> {
    try {
      await this.leaseCall(msg, wholeSeconds(delaySeconds, MAX_VISIBILITY_SECONDS), 'release');
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
    }
  }

  private async leaseCall(msg: QueueMessage, seconds: number, what: string): Promise<void> {
    if (this.leaseRefused !== undefined) throw this.leaseRefused;
    try {
      await this.changeVisibility(msg, seconds, what);
    } catch (err) {
      if (isAccessDenied(err)) {
        this.leaseRefused = err;
        this.refusals.note('ChangeMessageVisibility', 'queue', this.name, err);
      }
      throw err;
    }
  }

  /** SQS accepts a stale receipt here without deleting anything (AWS and fauxqs alike): no LeaseLostError. */
  async ack(msg: QueueMessage): Promise<void> {
    try {
      await this.deletes.add(msg);
    } catch (err) {
      if (isLeaseLostError(err)) throw new LeaseLostError(`cannot ack message ${msg.id} on ${this.name}: ${errText(err)}`);
      throw err;
    }
  }

  /**
   * Sends the message to the DLQ with the reason. Where the policy refuses that (SendMessage
   * on the DLQ, or GetQueueAttributes, so the DLQ is unknown) it is left for the queue's redrive
   * policy instead, as the Python worker leaves it: hidden for the visibility it was received
   * with, so it comes back at most maxReceiveCount times and SQS moves it. Never rejects for a
   * refused permission.
   */
  async deadLetter(msg: QueueMessage, reason: string): Promise<void> {
    const { dlq, refused } = await this.redriveTarget();
    if (!dlq && refused === undefined) throw new Error(`queue ${this.name} has no dead-letter queue (no RedrivePolicy)`);
    const dlqName = dlq ? queueNameFromUrl(dlq.url) : '';
    if (!dlq || this.refusals.has('SendMessage', dlqName) || this.refusals.has('ChangeMessageVisibility', this.name)) {
      return this.leaveForRedrive(msg, reason);
    }
    // Prove the lease first: a delete with a stale receipt silently does nothing, and
    // the message would then live on in both queues.
    if (!(await this.unlessRefused('ChangeMessageVisibility', 'queue', this.name, () => this.changeVisibility(msg, DEAD_LETTER_LEASE_SECONDS, 'dead-letter')))) {
      return this.leaveForRedrive(msg, reason);
    }
    const sent = await this.unlessRefused('SendMessage', 'dlq', dlqName, () => this.client.send(
      new SendMessageCommand({
        QueueUrl: dlq.url,
        MessageBody: msg.body,
        MessageAttributes: { [REASON_ATTRIBUTE]: { DataType: 'String', StringValue: reason.slice(0, 1024) || 'unspecified' } },
      }),
    ));
    if (!sent) return this.leaveForRedrive(msg, reason);
    await this.client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: msg.receipt }));
  }

  /** Hides the message for the visibility it was received with (unchanged when unknown): the redrive policy does the rest. */
  private async leaveForRedrive(msg: QueueMessage, reason: string): Promise<void> {
    const seconds = this.receivedVisibility.get(msg);
    if (seconds !== undefined && !this.refusals.has('ChangeMessageVisibility', this.name)) {
      await this.unlessRefused('ChangeMessageVisibility', 'queue', this.name, () => this.changeVisibility(msg, seconds, 'leave'));
    }
    this.logger?.warn(
      { event_type: 'sqs_message_left_for_redrive', queue: this.name, message_id: msg.id, receive_count: msg.receiveCount, max_receive_count: this.maxReceiveCount, visible_in_seconds: seconds ?? null, reason },
      `message ${msg.id} left for the redrive policy of ${this.name} (receive ${msg.receiveCount} of ${this.maxReceiveCount ?? '?'}): ${reason}`,
    );
  }

  /** Runs `call`; false when the IAM policy refuses it (noted once), any other failure rejects. */
  private async unlessRefused(action: 'ChangeMessageVisibility' | 'SendMessage', on: 'queue' | 'dlq', queueName: string, call: () => Promise<unknown>): Promise<boolean> {
    try {
      await call();
      return true;
    } catch (err) {
      if (!isAccessDenied(err)) throw err;
      if (action === 'ChangeMessageVisibility') this.leaseRefused = err;
      this.refusals.note(action, on, queueName, err);
      return false;
    }
  }

  async send(body: string, opts?: { delaySeconds?: number }): Promise<void> {
    const delay = opts?.delaySeconds === undefined ? undefined : wholeSeconds(opts.delaySeconds, MAX_DELAY_SECONDS);
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, DelaySeconds: delay }));
  }

  /** The counts of the queue and its DLQ; a refused GetQueueAttributes rejects with the service's answer, never reads as "no DLQ". */
  async depth(): Promise<QueueDepth> {
    const { dlq, refused } = await this.redriveTarget();
    if (refused !== undefined) throw refused;
    // A DLQ refused once is not asked again: its series stays away, the main queue's stay.
    return sqsDepth(this.client, this.queueUrl, this.dlqDepthRefused ? null : dlq?.url ?? null, () => { this.dlqDepthRefused = true; });
  }

  /** Ends pending long polls; the client belongs to the caller and stays open. */
  /** Stops new receives and waits for polls still open (at most one long-poll wait) to finish and give back what they got. */
  async close(): Promise<void> {
    this.closing.abort();
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private async changeVisibility(msg: QueueMessage, seconds: number, what: string): Promise<void> {
    try {
      await this.visibility.add({ msg, seconds });
    } catch (err) {
      if (isLeaseLostError(err)) throw new LeaseLostError(`cannot ${what} message ${msg.id} on ${this.name}: ${errText(err)}`);
      throw err;
    }
  }

  private async deleteBatch(msgs: QueueMessage[]): Promise<BatchOutcome[]> {
    const r = await this.client.send(new DeleteMessageBatchCommand({
      QueueUrl: this.queueUrl,
      Entries: msgs.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receipt })),
    }));
    return batchOutcomes(msgs.length, r.Failed);
  }

  private async visibilityBatch(items: Array<{ msg: QueueMessage; seconds: number }>): Promise<BatchOutcome[]> {
    const r = await this.client.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: this.queueUrl,
      Entries: items.map((it, i) => ({ Id: String(i), ReceiptHandle: it.msg.receipt, VisibilityTimeout: it.seconds })),
    }));
    return batchOutcomes(items.length, r.Failed);
  }

  private redriveTarget(): Promise<Redrive> {
    this.attributes ??= this.loadRedriveTarget().catch((err: unknown) => {
      this.attributes = undefined; // a failed read (network, credentials) is tried again next time
      throw err;
    });
    return this.attributes;
  }

  private async loadRedriveTarget(): Promise<Redrive> {
    let target: RedriveTarget;
    try {
      target = await readRedriveTarget(this.client, this.queueUrl, (dlqName, err) => this.refusals.note('GetQueueUrl', 'dlq', dlqName, err));
    } catch (err) {
      // Refused for good (kept, not read again): the consumer still needs a last attempt.
      if (!isAccessDenied(err)) throw err;
      const assumed = this.assumedMaxReceiveCount;
      this.refusals.note('GetQueueAttributes', 'queue', this.name, err, {
        text: `assuming maxReceiveCount ${assumed}`, fields: { assumed_max_receive_count: assumed },
      });
      this.cachedMaxReceiveCount = assumed;
      return { dlq: null, maxReceiveCount: assumed, refused: err };
    }
    this.cachedMaxReceiveCount = target.maxReceiveCount;
    return target;
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Per-entry errors of a *Batch response, shaped like the single call's errors so one classifier serves both. */
function batchOutcomes(count: number, failed: Array<{ Id?: string; Code?: string; Message?: string }> | undefined): BatchOutcome[] {
  const out: BatchOutcome[] = Array.from({ length: count }, () => null);
  for (const f of failed ?? []) {
    const err = Object.assign(new Error(f.Message || f.Code || 'batch entry failed'), { name: f.Code ?? 'BatchEntryFailed', Code: f.Code });
    out[Number(f.Id)] = err;
  }
  return out;
}

function untilAborted(signal: AbortSignal): Promise<'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
}

// Pure naming and encoding for the Redis Streams queue: which keys sit beside the
// stream, and how a delivery's receipt is spelled. No I/O here.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export interface StreamKeys {
  readonly stream: string;
  /** Dead letters: a stream of {body, reason, id}. */
  readonly dlq: string;
  /** Lease deadlines: sorted set, member = entry id, score = deadline (server ms). */
  readonly leases: string;
  /** Delayed sends: sorted set, member = encodeDelayed(body), score = due time (server ms). */
  readonly delayed: string;
}

export function streamKeys(stream: string): StreamKeys {
  if (stream === '') throw new TypeError('redis stream key must not be empty');
  return { stream, dlq: `${stream}:dlq`, leases: `${stream}:leases`, delayed: `${stream}:delayed` };
}

/**
 * The consumer that holds released entries. Its name cannot clash with defaultConsumerName()
 * (which never starts with '~'), so nobody can extend a released entry.
 */
export const RELEASED_CONSUMER = '~released';

/** hostname-pid-random: unique per worker process, readable in XINFO CONSUMERS. */
export function defaultConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * A receipt names one delivery: the entry id plus its delivery count. The count tells
 * an old delivery from a later one of the same entry to the same consumer (its lease
 * expired and this worker took the entry over again), so a stale heartbeat fails.
 */
export function encodeReceipt(entryId: string, deliveryCount: number): string {
  return `${entryId}/${deliveryCount}`;
}

export function decodeReceipt(receipt: string): { entryId: string; deliveryCount: number } {
  const m = /^(\d+-\d+)\/(\d+)$/.exec(receipt);
  if (m === null) throw new TypeError(`not a redis-streams receipt: ${JSON.stringify(receipt)}`);
  return { entryId: m[1] as string, deliveryCount: Number(m[2]) };
}

/**
 * Sorted-set members must be unique, and two delayed sends may carry the same body:
 * prefix a random tag. The Lua side splits at the first '|'.
 */
export function encodeDelayed(body: string, tag: string = randomBytes(8).toString('hex')): string {
  return `${tag}|${body}`;
}

export function decodeDelayed(member: string): string {
  const at = member.indexOf('|');
  return at < 0 ? member : member.slice(at + 1);
}

/** A stream entry's flat [field, value, …] list as a record (the last value of a repeated field wins). */
export function fieldsToRecord(fields: readonly unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[String(fields[i])] = String(fields[i + 1]);
  return out;
}

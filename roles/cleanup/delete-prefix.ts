// Deletes every object under a prefix (issue 5). The seed listed one page, deleted it,
// listed the next: each DeleteObjects waited for a listing and each listing for a delete.
// Here listing runs on while up to `concurrency` DeleteObjects calls of ≤1000 keys are in
// flight, so a big folder costs about its delete time divided by the concurrency.
// After a round the prefix is listed again: the folder counts as gone only when a listing
// finds nothing (objects written meanwhile, or missed by a listing, get another round).
import type { ObjectInfo, ObjectStore } from '../../src/ports/index.js';
import { isOutage } from '../../src/domain/failure.js';
import { errorText } from '../../src/domain/describe-error.js';

/** S3's DeleteObjects limit. */
export const MAX_DELETE_BATCH = 1000;

export interface DeletePrefixOptions {
  store: ObjectStore;
  /** Checked by the caller (src/domain/rugbycodex/cleanup-prefix.ts); ends with "/". */
  prefix: string;
  /** deleteMany calls in flight at once (CLEANUP_DELETE_CONCURRENCY). */
  concurrency: number;
  /** Keys per deleteMany call, at most MAX_DELETE_BATCH. */
  batchSize?: number;
  /** Listing rounds before objects that keep appearing count as a failure (default 3). */
  maxRounds?: number;
  /** When it aborts, no new batch starts; batches in flight finish and are counted. */
  signal?: AbortSignal;
}

export interface DeletePrefixResult {
  /** Objects removed (keys DeleteObjects reported deleted). */
  deleted: number;
  /** Their total size, from the listing. */
  bytes: number;
  /** Per-key failures (DeleteObjects errors, or a failed call for all its keys). */
  errors: Array<{ key: string; message: string }>;
  /** A listing failed; objects may remain. */
  listError: string | null;
  /** A failed call (listing or delete) was an outage of the bucket's service: worth retrying soon. */
  outage: boolean;
  /** `signal` aborted before the folder was empty. */
  aborted: boolean;
  /** True only when the last listing found nothing under the prefix. */
  empty: boolean;
  rounds: number;
}

export async function deletePrefix(opts: DeletePrefixOptions): Promise<DeletePrefixResult> {
  const batchSize = opts.batchSize ?? MAX_DELETE_BATCH;
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new RangeError(`delete concurrency must be an integer ≥ 1, got ${opts.concurrency}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_DELETE_BATCH) throw new RangeError(`delete batch must be 1…${MAX_DELETE_BATCH} keys, got ${batchSize}`);
  if (!opts.prefix.endsWith('/')) throw new RangeError(`cleanup prefix must end with "/", got ${JSON.stringify(opts.prefix)}`);
  const result: DeletePrefixResult = { deleted: 0, bytes: 0, errors: [], listError: null, outage: false, aborted: false, empty: false, rounds: 0 };
  const maxRounds = opts.maxRounds ?? 3;
  while (result.rounds < maxRounds) {
    result.rounds++;
    const found = await deleteRound(opts, batchSize, result);
    if (result.errors.length > 0 || result.listError !== null || result.aborted) break;
    if (found === 0) {
      result.empty = true;
      break;
    }
  }
  return result;
}

/** One listing of the prefix, deleting as it goes; resolves how many objects it found. */
async function deleteRound(opts: DeletePrefixOptions, batchSize: number, result: DeletePrefixResult): Promise<number> {
  const { store, prefix, signal } = opts;
  const inFlight = new Set<Promise<void>>();
  let found = 0;
  let batch: ObjectInfo[] = [];

  const send = (objects: ObjectInfo[]): Promise<void> => {
    const sizes = new Map(objects.map((o) => [o.key, o.size]));
    // Through then(): a deleteMany that throws synchronously still lands in the handler below.
    const call = Promise.resolve().then(() => store.deleteMany(objects.map((o) => o.key))).then(
      (out) => {
        result.deleted += out.deleted.length;
        for (const key of out.deleted) result.bytes += sizes.get(key) ?? 0;
        result.errors.push(...out.errors);
      },
      // deleteMany reports per-key failures itself; a throw means none of these went.
      (err: unknown) => {
        result.errors.push(...objects.map((o) => ({ key: o.key, message: errorText(err) })));
        result.outage ||= isOutage(err);
      },
    );
    const tracked = call.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return tracked;
  };

  try {
    for await (const object of store.list(prefix)) {
      if (signal?.aborted) {
        result.aborted = true;
        break; // ends the listing (the iterator's return)
      }
      // The prefix came from the domain check; a listing that strays from it is a bug, not a job.
      if (!object.key.startsWith(prefix)) throw new Error(`listing of ${prefix} returned ${JSON.stringify(object.key)}`);
      found++;
      batch.push(object);
      if (batch.length < batchSize) continue;
      void send(batch);
      batch = [];
      // Backpressure: the listing waits only when every delete slot is taken.
      while (inFlight.size >= opts.concurrency) await Promise.race(inFlight);
    }
    if (!result.aborted && batch.length > 0) void send(batch);
  } catch (err) {
    result.listError = errorText(err);
    result.outage ||= isOutage(err);
  } finally {
    await Promise.all(inFlight);
  }
  return found;
}

/** The row's error for a folder that is not gone yet: what stopped it and how far it got. */
export function deleteFailureMessage(prefix: string, r: DeletePrefixResult): string {
  const done = `${r.deleted} object${r.deleted === 1 ? '' : 's'} deleted`;
  if (r.errors.length > 0) {
    const first = r.errors[0]!;
    return `${r.errors.length} object${r.errors.length === 1 ? '' : 's'} under ${prefix} not deleted (first: ${JSON.stringify(first.key)}: ${first.message}); ${done}; the next pass retries`;
  }
  if (r.listError !== null) return `listing ${prefix} failed: ${r.listError}; ${done}; the next pass retries`;
  if (r.aborted) return `stopped by shutdown; ${done}; the next pass retries`;
  return `objects kept appearing under ${prefix} after ${r.rounds} rounds; ${done}; the next pass retries`;
}

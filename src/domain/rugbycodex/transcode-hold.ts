// A delivery's hold on its jobs row. Two Jetsons and the AWS GPU workers share one queue, and
// a user may send a second message for a job being encoded (RUGBYCODEX.md §"The other
// actors"), so the row says who is encoding it, in its live columns:
// - started_at is the fencing token: the claim writes a new one, and every later write of the
//   holder is conditional on it, so a holder that was taken over can change nothing;
// - updated_at is the holder's heartbeat, rewritten every HOLD_REFRESH_SECONDS;
// - payload names the message the holder works for, so that message coming back (its holder
//   died or lost its lease) is told from a second message while the holder lives.
import { looseObject, string, type output } from 'zod';

export const HOLD_REFRESH_SECONDS = 15;
/** Six missed refreshes: a Supabase outage of a minute does not hand a live encode to another worker. */
export const HOLD_STALE_SECONDS = 90;

export interface JobHolder {
  readonly messageId: string;
  readonly worker: string;
}

const payloadSchema = looseObject({ holder: looseObject({ message_id: string(), worker: string() }) });
export type HolderPayload = output<typeof payloadSchema>;

/** jobs.payload of a held job. */
export function holderPayload(holder: JobHolder): HolderPayload {
  return { holder: { message_id: holder.messageId, worker: holder.worker } };
}

/** The holder a jobs.payload names; null for any other payload (the app writes none for transcode jobs). */
export function holderOf(payload: unknown): JobHolder | null {
  const parsed = payloadSchema.safeParse(payload);
  return parsed.success ? { messageId: parsed.data.holder.message_id, worker: parsed.data.holder.worker } : null;
}

/**
 * The started_at a claim writes: now, but never the value it replaces (a takeover in the same
 * millisecond would otherwise leave the old holder's writes fenced in).
 */
export function nextToken(nowMs: number, seen: string | null): string {
  const seenMs = seen === null ? Number.NaN : Date.parse(seen);
  return new Date(nowMs === seenMs ? nowMs + 1 : nowMs).toISOString();
}

/** Whether a heartbeat written at `updatedAt` still says its holder lives. */
export function isFresh(updatedAt: string, nowMs: number, staleSeconds = HOLD_STALE_SECONDS): boolean {
  const at = Date.parse(updatedAt);
  return Number.isFinite(at) && nowMs - at < staleSeconds * 1000;
}

// HTTP byte ranges (RFC 9110 §14) as FFmpeg's http protocol asks for them: `bytes=N-` when it
// opens or seeks, `bytes=N-M` with an end offset. Ends are inclusive, as in HTTP, S3 and
// Node's createReadStream.

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/**
 * What a GET with this Range header gets of an object of `size` bytes: the whole object (no
 * header, or one we may ignore: several ranges, a unit other than bytes, bad syntax), one
 * range (its end clamped to the last byte), or nothing (416).
 */
export type RangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly range: ByteRange }
  | { readonly kind: 'unsatisfiable' };

const SINGLE = /^bytes=(\d*)-(\d*)$/;

export function answerRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = SINGLE.exec(header.trim());
  // A server may ignore a Range it does not support (§14.2): the whole body is a valid answer.
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  const last = size - 1;
  if (m[1] === '') {
    // bytes=-N: the last N bytes.
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: last } };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? null : Number(m[2]);
  if (end !== null && end < start) return { kind: 'whole' }; // invalid syntax (§14.1.1): ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end: Math.min(end ?? last, last) } };
}

/** The Content-Range of a 206 (`bytes 0-99/1000`) or, without a range, of a 416 (`bytes *\/1000`). */
export function contentRange(size: number, range?: ByteRange): string {
  return range ? `bytes ${range.start}-${range.end}/${size}` : `bytes */${size}`;
}

export const rangeLength = (range: ByteRange): number => range.end - range.start + 1;

/** Why `range` (end optional: to the last byte) cannot be asked of any object, or null. */
export function rangeProblem(range: { start: number; end?: number }): string | null {
  if (!Number.isSafeInteger(range.start) || range.start < 0) return `start ${range.start} is not a byte offset`;
  if (range.end === undefined) return null;
  if (!Number.isSafeInteger(range.end) || range.end < range.start) return `end ${range.end} is not a byte offset at or after start ${range.start}`;
  return null;
}

/** The Range header of a request for `range` (end optional). */
export function rangeHeader(range: { start: number; end?: number }): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}

// Object keys become file paths (the fs bucket, download targets in a work directory),
// so a key from a message must never be able to point outside them. One rule set for
// every adapter: a key S3 would accept but a path cannot hold safely is refused.

/** S3's own limit: keys are at most 1024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

/** A key that must not be used: the message names the key and the problem on one line. */
export class UnsafeKeyError extends Error {
  constructor(readonly key: string, readonly problem: string) {
    super(`unsafe object key ${quoteKey(key)}: ${problem}`);
    this.name = 'UnsafeKeyError';
  }
}

/** No object under this key (S3 NoSuchKey / 404, or no such file in an fs bucket). */
export class ObjectNotFoundError extends Error {
  constructor(readonly bucket: string, readonly key: string) {
    super(`no object ${quoteKey(key)} in bucket ${JSON.stringify(bucket)}`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Why `key` is unsafe, or null when it is fine. */
export function safeKeyProblem(key: string): string | null {
  if (typeof key !== 'string') return 'is not a string';
  if (key === '') return 'is empty';
  const chars = characterProblem(key);
  if (chars) return chars;
  if (key.startsWith('/')) return 'is an absolute path (starts with "/")';
  if (utf8Length(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  return segmentsProblem(key.split('/'));
}

/** Throws UnsafeKeyError unless `key` is safe. */
export function assertSafeKey(key: string): void {
  const problem = safeKeyProblem(key);
  if (problem !== null) throw new UnsafeKeyError(key, problem);
}

/**
 * Why a listing prefix is unsafe, or null. '' lists everything; the last segment may be
 * partial ("a/ab" matches "a/abc/x", "a/." matches "a/.hidden"), the others follow the
 * key rules.
 */
export function safePrefixProblem(prefix: string): string | null {
  if (typeof prefix !== 'string') return 'is not a string';
  if (prefix === '') return null;
  const chars = characterProblem(prefix);
  if (chars) return chars;
  if (prefix.startsWith('/')) return 'is an absolute path (starts with "/")';
  if (utf8Length(prefix) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  return segmentsProblem(prefix.split('/').slice(0, -1));
}

export function assertSafePrefix(prefix: string): void {
  const problem = safePrefixProblem(prefix);
  if (problem !== null) throw new UnsafeKeyError(prefix, `(as a prefix) ${problem}`);
}

function characterProblem(s: string): string | null {
  if (s.includes('\0')) return 'contains a NUL character';
  if (s.includes('\\')) return 'contains a backslash';
  const control = /\p{Cc}/u.exec(s);
  if (control) return `contains a control character (U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
  // With the u flag this matches only unpaired surrogates, which have no UTF-8 form.
  if (/[\uD800-\uDFFF]/u.test(s)) return 'is not valid Unicode (unpaired surrogate)';
  return null;
}

function segmentsProblem(segments: readonly string[]): string | null {
  for (const segment of segments) {
    if (segment === '') return 'has an empty path segment ("a//b" or a trailing "/")';
    if (segment === '..') return 'has a ".." segment';
    if (segment === '.') return 'has a "." segment';
  }
  return null;
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** JSON-quoted (so control characters show escaped and the message stays one line), cut when huge. */
function quoteKey(key: string): string {
  const text = typeof key === 'string' ? key : String(key);
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}…` : text);
}

import { describe, expect, it } from '@jest/globals';
import { ObjectNotFoundError, UnsafeKeyError, assertSafeKey, assertSafePrefix, safeKeyProblem, safePrefixProblem } from '../../src/domain/object-keys.js';

const bad: Array<[string, string, RegExp]> = [
  ['empty', '', /is empty/],
  ['absolute', '/etc/passwd', /absolute path/],
  ['only a slash', '/', /absolute path/],
  ['parent at start', '../x', /"\.\." segment/],
  ['parent in the middle', 'a/../../etc/passwd', /"\.\." segment/],
  ['parent at end', 'a/b/..', /"\.\." segment/],
  ['lone parent', '..', /"\.\." segment/],
  ['dot segment', 'a/./b', /"\." segment/],
  ['lone dot', '.', /"\." segment/],
  ['empty segment', 'a//b', /empty path segment/],
  ['trailing slash', 'a/b/', /empty path segment/],
  ['NUL', 'a/b\0.mp4', /NUL/],
  ['backslash', 'a\\b', /backslash/],
  ['windows traversal', '..\\..\\windows', /backslash/],
  ['newline', 'a/b\nc', /control character \(U\+000A\)/],
  ['tab', 'a\tb', /control character \(U\+0009\)/],
  ['DEL', 'a\u007fb', /control character \(U\+007F\)/],
  ['C1 control', 'a\u0085b', /control character \(U\+0085\)/],
  ['unpaired surrogate', 'a\ud800b', /unpaired surrogate/],
  ['too long', 'x'.repeat(1025), /longer than 1024 bytes/],
  ['too long in UTF-8', 'é'.repeat(513), /longer than 1024 bytes/],
];

const good = [
  'a',
  'video.mp4',
  'orgs/o1/uploads/42/raw/My Match (final).mp4',
  'segments/job-1/00001_00010_sbs.mp4',
  'jobs/j/final.mp4',
  '.hidden',
  'a/.b/..c/...',
  'a..b/c..',
  'emoji/🏉.mp4',
  'spaces and + plus/x=y&z.txt',
  'x'.repeat(1024),
];

describe('safeKeyProblem', () => {
  it.each(bad)('refuses %s', (_name, key, problem) => {
    expect(safeKeyProblem(key)).toMatch(problem);
  });

  it.each(good.map((k) => [k]))('accepts %j', (key) => {
    expect(safeKeyProblem(key)).toBeNull();
  });

  it('refuses a non-string at run time', () => {
    expect(safeKeyProblem(undefined as unknown as string)).toBe('is not a string');
  });
});

describe('assertSafeKey', () => {
  it('throws UnsafeKeyError naming the JSON-quoted key and the problem on one line', () => {
    let caught: unknown;
    try {
      assertSafeKey('a/../b\nc');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsafeKeyError);
    const err = caught as UnsafeKeyError;
    expect(err.message).toBe('unsafe object key "a/../b\\nc": contains a control character (U+000A)');
    expect(err.message).not.toContain('\n');
    expect(err.key).toBe('a/../b\nc');
    expect(err.name).toBe('UnsafeKeyError');
  });

  it('names the traversal problem', () => {
    expect(() => assertSafeKey('../../etc/passwd')).toThrow('unsafe object key "../../etc/passwd": has a ".." segment');
  });

  it('shortens a huge key in the message', () => {
    expect(() => assertSafeKey('y'.repeat(5000))).toThrow(/^unsafe object key "y{300}…": is longer than 1024 bytes$/);
  });

  it('passes good keys', () => {
    for (const key of good) expect(() => assertSafeKey(key)).not.toThrow();
  });
});

describe('safePrefixProblem', () => {
  it.each([[''], ['a/'], ['a/ab/'], ['a/ab'], ['a/.'], ['a/..x'], ['a/..'], ['orgs/o1/uploads/42/']])('accepts %j (the last segment may be partial)', (prefix) => {
    expect(safePrefixProblem(prefix)).toBeNull();
  });

  it.each([
    ['/a/', /absolute/],
    ['../a/', /"\.\." segment/],
    ['a/../b/', /"\.\." segment/],
    ['./', /"\." segment/],
    ['a//', /empty path segment/],
    ['a\\', /backslash/],
    ['a\0', /NUL/],
  ])('refuses %j', (prefix, problem) => {
    expect(safePrefixProblem(prefix)).toMatch(problem);
    expect(() => assertSafePrefix(prefix)).toThrow(UnsafeKeyError);
  });
});

describe('ObjectNotFoundError', () => {
  it('names bucket and key', () => {
    const err = new ObjectNotFoundError('media', 'a/b.mp4');
    expect(err.message).toBe('no object "a/b.mp4" in bucket "media"');
    expect(err.name).toBe('ObjectNotFoundError');
  });
});

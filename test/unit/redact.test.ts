// The one redaction every outgoing text goes through (src/runtime/redact.ts): URL passwords,
// an `@` in them included, credential query parameters, bearer tokens, configured values.
import { describe, expect, it } from '@jest/globals';
import { createRedactor, redactText } from '../../src/runtime/redact.js';

describe('redactText: URL passwords', () => {
  it.each([
    ['postgres://user:p@ss@host/db', 'postgres://user:[REDACTED]@host/db'],
    ['redis://:p@ss@h:6379', 'redis://:[REDACTED]@h:6379'],
    ['https://u:pa@ss@x.supabase.co', 'https://u:[REDACTED]@x.supabase.co'],
    ['https://u:pa@ss@x.supabase.co/rest/v1/jobs?select=id', 'https://u:[REDACTED]@x.supabase.co/rest/v1/jobs?select=id'],
    ['http://user:p%40ss@127.0.0.1:9/rest/v1/jobs', 'http://user:[REDACTED]@127.0.0.1:9/rest/v1/jobs'], // as undici quotes it
    ['amqp://guest:g:s@cr@t@mq:5672', 'amqp://guest:[REDACTED]@mq:5672'],
    ["postgres://u:it's@db/x", 'postgres://u:[REDACTED]@db/x'],
  ])('%s', (url, masked) => {
    expect(redactText(url)).toBe(masked);
    expect(redactText(`connect ${url} failed: ECONNREFUSED`)).toBe(`connect ${masked} failed: ECONNREFUSED`);
  });

  it('masks inside a JSON line without running across its fields', () => {
    const line = JSON.stringify({ message: 'GET https://u:pa@ss@x.supabase.co/rest failed', to: 'ops@example.com', url: 'redis://:p@ss@h:6379' });
    const out = redactText(line);
    expect(JSON.parse(out)).toEqual({ message: 'GET https://u:[REDACTED]@x.supabase.co/rest failed', to: 'ops@example.com', url: 'redis://:[REDACTED]@h:6379' });
  });

  it('masks a token standing alone as the user name (a git remote, some SDKs)', () => {
    expect(redactText('fetch https://ghp_0123456789abcdefghijklmnopqrstuv@github.com/o/r.git failed'))
      .toBe('fetch https://[REDACTED]@github.com/o/r.git failed');
    expect(redactText('redis://default@h:6379')).toBe('redis://default@h:6379');
  });

  it('keeps what holds no password: a user name alone, an @ in a path or in prose', () => {
    for (const text of ['postgres://app@db/x', 'https://host/a@b/c?x=1', 'mail ops@example.com', 'https://x.supabase.co', 'see s3://bucket/key@2x.png']) {
      expect(redactText(text)).toBe(text);
    }
  });

  it('is idempotent', () => {
    const once = redactText('postgres://user:p@ss@host/db?token=abc');
    expect(redactText(once)).toBe(once);
  });
});

describe('redactText: tokens in query strings and headers', () => {
  it('masks the credentials of a presigned S3/Wasabi URL and keeps its other parameters', () => {
    const url = 'https://b.s3.wasabisys.com/orgs/o/k.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request'
      + '&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=FwoGZXIvYXdzEBYaDH%2Bx%3D%3D&X-Amz-Signature=0123456789abcdef&X-Amz-SignedHeaders=host';
    const out = redactText(`download ${url} failed`);
    for (const secret of ['AKIAEXAMPLE', 'FwoGZXIvYXdzEBYaDH', '0123456789abcdef']) expect(out).not.toContain(secret);
    expect(out).toContain('X-Amz-Credential=[REDACTED]&');
    expect(out).toContain('X-Amz-Security-Token=[REDACTED]&');
    expect(out).toContain('X-Amz-Signature=[REDACTED]&');
    expect(out).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential');
    expect(out).toContain('X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&');
    expect(out).toMatch(/X-Amz-SignedHeaders=host failed$/);
  });

  it.each([
    ['https://h/x?token=abc123', 'https://h/x?token=[REDACTED]'],
    ['https://h/x?a=1&apikey=k-123&b=2', 'https://h/x?a=1&apikey=[REDACTED]&b=2'],
    ['https://h/cb?access_token=t-1&refresh_token=r-2', 'https://h/cb?access_token=[REDACTED]&refresh_token=[REDACTED]'],
    ['https://acct.blob.core.windows.net/c/b?sv=2024-01-01&se=2026&sig=Zm9vYmFy%3D', 'https://acct.blob.core.windows.net/c/b?sv=2024-01-01&se=2026&sig=[REDACTED]'],
    ['https://x.supabase.co/rest/v1/jobs?apikey=eyJhbGciOi#frag', 'https://x.supabase.co/rest/v1/jobs?apikey=[REDACTED]#frag'],
    ['https://h/x?password=hunter2&user=me', 'https://h/x?password=[REDACTED]&user=me'],
    ['https://storage.googleapis.com/b/o?X-Goog-Signature=abcd', 'https://storage.googleapis.com/b/o?X-Goog-Signature=[REDACTED]'],
    ['https://h/x?page=2&select=id', 'https://h/x?page=2&select=id'],
    ['differ (https://h/x?sig=abc) set one', 'differ (https://h/x?sig=[REDACTED]) set one'],
  ])('%s', (text, masked) => {
    expect(redactText(text)).toBe(masked);
  });

  it('stops a masked value where the JSON string ends, so the line stays JSON', () => {
    const line = JSON.stringify({ message: 'see "https://h/x?token=abc" there', n: 1 });
    expect(JSON.parse(redactText(line))).toEqual({ message: 'see "https://h/x?token=[REDACTED]" there', n: 1 });
  });

  it('masks a bearer token', () => {
    expect(redactText('sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig')).toBe('sent Authorization: Bearer [REDACTED]');
  });
});

describe('createRedactor', () => {
  it('masks the configured values in every spelling, then what redactText masks', () => {
    const redact = createRedactor(['p@ss w"rd']);
    expect(redact('raw p@ss w"rd, json p@ss w\\"rd, url p%40ss%20w%22rd')).toBe('raw [REDACTED], json [REDACTED], url [REDACTED]');
    expect(redact('https://u:other@h/?sig=x1')).toBe('https://u:[REDACTED]@h/?sig=[REDACTED]');
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import {
  createLogger, createMicrosClock, createPrettyFormatter, createRedactor, formatIsoMicros, redactObject,
} from '../../src/runtime/logger/index.js';
import type { CreateLoggerOptions } from '../../src/runtime/logger/index.js';

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SECRET = 'sk-live-9f8e7d6c5b4a';

function capture(opts: Partial<CreateLoggerOptions> = {}) {
  const out: string[] = [];
  const handle = createLogger({
    level: 'info', environment: 'jetson', pretty: false, stdout: { write: (s: string) => out.push(s) }, ...opts,
  });
  const events = (): Record<string, unknown>[] => out.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { ...handle, out, events, last: () => events().at(-1) as Record<string, unknown> };
}

describe('logger line format', () => {
  it('writes the seed fields, in the seed order, and nothing else', () => {
    const { logger, out, last } = capture();
    const before = Date.now();
    logger.info({ event_type: 'job_completed', job_id: 'abc-123', duration_seconds: 125.5 });
    expect(out).toHaveLength(1);
    expect(out[0]!.endsWith('}\n')).toBe(true);
    expect(out[0]!.split('\n')).toHaveLength(2);
    const e = last();
    expect(Object.keys(e)).toEqual(['timestamp', 'environment', 'severity', 'event_type', 'job_id', 'duration_seconds']);
    expect(e).toEqual({
      timestamp: expect.stringMatching(ISO_MICROS),
      environment: 'jetson', severity: 'info', event_type: 'job_completed', job_id: 'abc-123', duration_seconds: 125.5,
    });
    const t = Date.parse(e.timestamp as string);
    expect(t).toBeGreaterThanOrEqual(before - 5);
    expect(t).toBeLessThanOrEqual(Date.now() + 5);
  });

  it('puts the text under `message`, bindings of child loggers on every line', () => {
    const { logger, last } = capture();
    logger.child({ role: 'transcode' }).info({ event_type: 'transcode_started', job_id: 'j1' }, 'starting');
    const e = last();
    expect(e).toMatchObject({ role: 'transcode', event_type: 'transcode_started', job_id: 'j1', message: 'starting' });
    for (const key of ['pid', 'hostname', 'level', 'time', 'msg']) expect(e).not.toHaveProperty(key);
    expect(Object.keys(e).slice(0, 2)).toEqual(['timestamp', 'environment']);
  });

  it('names severities as Python logging does (warning, not warn)', () => {
    const { logger, events } = capture({ level: 'trace' });
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(events().map((e) => e.severity)).toEqual(['trace', 'debug', 'info', 'warning', 'error', 'fatal']);
  });

  it('filters by level', () => {
    const { logger, events } = capture({ level: 'warn' });
    logger.debug({ event_type: 'a' });
    logger.info({ event_type: 'b' });
    logger.warn({ event_type: 'c' });
    logger.error({ event_type: 'd' });
    expect(events().map((e) => e.event_type)).toEqual(['c', 'd']);
  });

  it('timestamps never go backwards and carry real microseconds', () => {
    const { logger, events } = capture();
    for (let i = 0; i < 200; i++) logger.info({ i });
    const stamps = events().map((e) => e.timestamp as string);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]! >= stamps[i - 1]!).toBe(true);
    // 200 lines in well under a millisecond each: microseconds must differ within one millisecond.
    expect(new Set(stamps).size).toBeGreaterThan(new Set(stamps.map((s) => s.slice(0, 23))).size);
  });

  it('serialises errors under err with type, message, stack and their own fields', () => {
    const { logger, last } = capture();
    class UploadError extends Error {
      code = 'E_UPLOAD';
    }
    logger.error({ event_type: 'upload_failed', err: new UploadError('bucket said no') });
    const e = last();
    expect(e.err).toEqual({
      type: 'UploadError', message: 'bucket said no', code: 'E_UPLOAD',
      stack: expect.stringContaining('bucket said no'),
    });
    expect(e.message).toBe('bucket said no');
    logger.error(new TypeError('bare'));
    expect(last()).toMatchObject({ severity: 'error', message: 'bare', err: { type: 'TypeError', message: 'bare' } });
  });
});

describe('logger redaction', () => {
  it('masks secret values in the message, nested fields, bindings and errors', () => {
    const { logger, out } = capture({ secrets: [SECRET, 'abc'] });
    logger.info({ event_type: 'x', deep: { list: [`Bearer ${SECRET}`] } }, `token is ${SECRET}`);
    logger.child({ note: `via ${SECRET}` }).error({ event_type: 'y', err: new Error(`rejected ${SECRET}`) });
    const text = out.join('');
    expect(text).not.toContain(SECRET);
    type Line = { message: string; note: string; deep: { list: string[] }; err: { message: string; stack: string } };
    const [a, b] = out.map((l) => JSON.parse(l) as Line);
    expect(a!.message).toBe('token is [REDACTED]');
    expect(a!.deep.list[0]).toBe('Bearer [REDACTED]');
    expect(b!.note).toBe('via [REDACTED]');
    expect(b!.err.message).toBe('rejected [REDACTED]');
    expect(b!.err.stack).toContain('rejected [REDACTED]');
    // Too short to be a secret worth masking everywhere.
    logger.info({ event_type: 'abc' });
    expect(out.at(-1)).toContain('"event_type":"abc"');
  });

  it('masks a secret also in its JSON-escaped form', () => {
    const weird = 'pa"ss\\wo\nrd';
    const { logger, out } = capture({ secrets: [weird] });
    logger.info({ event_type: 'x', value: `<${weird}>` });
    expect((JSON.parse(out[0]!) as Record<string, unknown>).value).toBe('<[REDACTED]>');
  });

  it('masks the Axiom token without being told', () => {
    const { logger, out, close } = capture({
      axiom: { token: 'xaat-123456789', dataset: 'd', url: 'http://127.0.0.1:9', fetch: async () => new Response('') },
    });
    logger.info({ event_type: 'x' }, 'token xaat-123456789');
    expect(out[0]).toContain('token [REDACTED]');
    return close();
  });

  it('masks secret-named keys at any depth, without touching the caller object', () => {
    const { logger, last } = capture();
    const fields = {
      event_type: 'config_loaded',
      AWS_SECRET_ACCESS_KEY: 'a1', AXIOM_API_TOKEN: 'a2', AWS_ACCESS_KEY_ID: 'a3',
      db: { conn: { password: 'a4', host: 'db.local', port: 5432 } },
      requests: [{ headers: { Authorization: 'Bearer a5', cookie: 'a6', 'x-api-key': 'a7', accept: '*/*' } }],
      client: { apiKey: 'a8', accessKeyId: 'a9', sessionToken: { nested: 'a10' } },
      has_token: true,
    };
    const copy = structuredClone(fields);
    logger.info(fields);
    const e = last();
    expect(e).toEqual({
      timestamp: expect.any(String), environment: 'jetson', severity: 'info',
      event_type: 'config_loaded',
      AWS_SECRET_ACCESS_KEY: '[REDACTED]', AXIOM_API_TOKEN: '[REDACTED]', AWS_ACCESS_KEY_ID: '[REDACTED]',
      db: { conn: { password: '[REDACTED]', host: 'db.local', port: 5432 } },
      requests: [{ headers: { Authorization: '[REDACTED]', cookie: '[REDACTED]', 'x-api-key': '[REDACTED]', accept: '*/*' } }],
      client: { apiKey: '[REDACTED]', accessKeyId: '[REDACTED]', sessionToken: '[REDACTED]' },
      has_token: true,
    });
    expect(fields).toEqual(copy);
  });

  it('masks secret-named fields of errors and child bindings', () => {
    const { logger, last } = capture();
    const err = Object.assign(new Error('denied'), { requestToken: 'b1', status: 403 });
    logger.child({ session_token: 'b2' }).error({ event_type: 'x', err });
    const e = last();
    expect(e.session_token).toBe('[REDACTED]');
    const grandchild = logger.child({ role: 'r' }).child({ db: { password: 'b3' } });
    grandchild.setBindings({ cookie: 'b4' });
    grandchild.info('hi');
    expect(last()).toMatchObject({ role: 'r', db: { password: '[REDACTED]' }, cookie: '[REDACTED]' });
    expect(e.err).toMatchObject({ message: 'denied', requestToken: '[REDACTED]', status: 403 });
  });

  it('masks URL passwords in fields and in text', () => {
    const { logger, last } = capture();
    logger.info({ event_type: 'x', redis: 'redis://:hunter22@cache:6379/0', db: 'postgres://app:pw99@db/x' },
      'connecting to amqp://guest:gsecret@mq:5672 now');
    const e = last();
    expect(e.redis).toBe('redis://:[REDACTED]@cache:6379/0');
    expect(e.db).toBe('postgres://app:[REDACTED]@db/x');
    expect(e.message).toBe('connecting to amqp://guest:[REDACTED]@mq:5672 now');
  });

  it('masks URL passwords holding an @, and credential query parameters, in fields and in text', () => {
    const { logger, out, last } = capture();
    logger.info({ event_type: 'x', db: 'postgres://user:p@ss@host/db', supabase: 'https://u:pa@ss@x.supabase.co' },
      'GET https://b.s3.wasabisys.com/k?X-Amz-Credential=AKIAEXAMPLE%2F2026&X-Amz-Signature=feedface01&token=tok-123 from redis://:p@ss@h:6379');
    const e = last();
    expect(e.db).toBe('postgres://user:[REDACTED]@host/db');
    expect(e.supabase).toBe('https://u:[REDACTED]@x.supabase.co');
    expect(e.message).toBe('GET https://b.s3.wasabisys.com/k?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&token=[REDACTED] from redis://:[REDACTED]@h:6379');
    for (const leak of ['ss@', 'AKIAEXAMPLE', 'feedface01', 'tok-123']) expect(out.join('')).not.toContain(leak);
  });

  it('survives circular objects', () => {
    const { logger, last } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    logger.info({ event_type: 'x', a });
    expect(last().a).toEqual({ name: 'a', self: '[Circular]' });
  });
});

describe('createRedactor', () => {
  it('replaces every occurrence, longest secret first', () => {
    const redact = createRedactor(['abcd', 'abcdefgh', 'xy']);
    expect(redact('abcdefgh abcd abcd xy')).toBe('[REDACTED] [REDACTED] [REDACTED] xy');
    expect(createRedactor([])('nothing://to:do@here')).toBe('nothing://to:[REDACTED]@here');
  });

  it('redactObject keeps Dates as their JSON text', () => {
    expect(redactObject({ at: new Date(0) })).toEqual({ at: '1970-01-01T00:00:00.000Z' });
  });
});

describe('pretty output', () => {
  const saved = process.env.NO_COLOR;
  afterEach(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });

  it('prints a human line instead of JSON when pretty is on', () => {
    const { logger, out } = capture({ pretty: true, secrets: [SECRET] });
    logger.child({ role: 'transcode' }).warn(
      { event_type: 'transcode_slow', job_id: 'j-42', fps: 12.5, s3: { bucket: 'b' } }, `slow ${SECRET}`);
    expect(out).toHaveLength(1);
    // eslint-disable-next-line no-control-regex
    const line = out[0]!.replace(/\x1b\[[0-9;]*m/g, '');
    expect(line).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} WARNING +transcode_slow job=j-42 slow \[REDACTED\] /);
    expect(line).toContain('role=transcode');
    expect(line).toContain('fps=12.5');
    expect(line).toContain('s3.bucket=b');
    expect(line).not.toMatch(/[{}]/);
    expect(line).not.toContain('jetson');
    expect(line.endsWith('\n')).toBe(true);
  });

  it('colours by severity unless NO_COLOR is set', () => {
    const line = JSON.stringify({ timestamp: '2024-01-15T10:30:45.123456Z', severity: 'error', event_type: 'x' });
    delete process.env.NO_COLOR;
    expect(createPrettyFormatter()(line)).toContain('\x1b[31m');
    process.env.NO_COLOR = '1';
    expect(createPrettyFormatter()(line)).not.toContain('\x1b[');
  });

  it('shows control characters from logged text escaped, never raw (stack line breaks kept)', () => {
    const err = new Error('bad body \x1b]0;pwned\x07');
    const { logger, out } = capture({ pretty: true, level: 'debug' });
    logger.error({ event_type: 'message_discarded', body: '\x1b[2J\u009b2J', reason: 'a\nb', ['k\x1b[1m']: 1, err }, 'title \x1b]0;x\x07 set\nnext');
    const line = out[0]!;
    // Only the formatter's own colour codes may remain: ESC followed by `[…m`.
    // eslint-disable-next-line no-control-regex
    const raw = line.replace(/\x1b\[[0-9;]*m/g, '');
    // eslint-disable-next-line no-control-regex
    expect(raw).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(raw).toContain('title \\x1b]0;x\\x07 set\\nnext');
    expect(raw).toContain('body="\\x1b[2J\\x9b2J"');
    expect(raw).toContain('reason="a\\nb"');
    expect(raw).toContain('k\\x1b[1m=1');
    expect(raw).toContain('err="bad body \\x1b]0;pwned\\x07"');
    expect(raw.split('\n').length).toBeGreaterThan(3); // the stack, one frame a line
    expect(createPrettyFormatter({ colors: false })('not json \x1b[2J\n')).toBe('not json \\x1b[2J\n');
  });

  it('shows err.message, and the stack only at debug level', () => {
    const err = new Error('disk full');
    const info = capture({ pretty: true, level: 'info' });
    info.logger.error({ event_type: 'write_failed', err });
    const frame = err.stack!.split('\n')[1]!.trim();
    expect(info.out[0]).toContain('disk full');
    expect(info.out[0]).not.toContain(frame);
    const debug = capture({ pretty: true, level: 'debug' });
    debug.logger.error({ event_type: 'write_failed', err });
    expect(debug.out[0]).toContain('disk full');
    expect(debug.out[0]).toContain(frame);
  });
});

describe('timestamps', () => {
  it('formats epoch microseconds as ISO-8601 UTC with six digits', () => {
    expect(formatIsoMicros(1705314645123456n)).toBe('2024-01-15T10:30:45.123456Z');
    expect(formatIsoMicros(0n)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatIsoMicros(7n)).toBe('1970-01-01T00:00:00.000007Z');
    expect(formatIsoMicros(1705314645000010n)).toBe('2024-01-15T10:30:45.000010Z');
    expect(formatIsoMicros(-1n)).toBe('1969-12-31T23:59:59.999999Z');
  });

  it('derives microseconds from the monotonic clock and follows a wall clock step', () => {
    let wall = 1_705_314_645_123;
    let mono = 5_000_000_000n;
    const clock = createMicrosClock(() => wall, () => mono);
    expect(clock()).toBe(1_705_314_645_123_000n);
    mono += 1_234_567n; // 1234.567 µs later; Date.now() only moved 1 ms
    wall += 1;
    expect(clock()).toBe(1_705_314_645_124_234n);
    wall += 3_600_000; // NTP sets the clock an hour forward
    mono += 1_000n;
    expect(clock()).toBe(1_705_318_245_124_000n);
    mono += 500n;
    expect(clock()).toBe(1_705_318_245_124_000n);
    mono += 1_500n;
    expect(clock()).toBe(1_705_318_245_124_002n);
  });
});

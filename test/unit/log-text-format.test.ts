// LOG_FORMAT=text: stereo-spot's Python log lines, as the web UI's "Open logs" query reads them
// (STEREO-SPOT-MAIN.md §8), with the redaction and escaping of the JSON lines.
import { describe, expect, it } from '@jest/globals';
import { createLogger, createTextFormatter } from '../../src/runtime/logger/index.js';
import type { CreateLoggerOptions } from '../../src/runtime/logger/index.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { ConfigError } from '../../src/runtime/errors.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const SECRET = 'sk-live-9f8e7d6c5b4a';
// The two filters of operator_links.py@b622b25's Logs Insights query, for one job.
const LEVEL_FILTER = /\[(INFO|WARNING|ERROR)\]/;
const jobFilter = (jobId: string): RegExp => new RegExp(`job_id=${jobId}`);
const openLogsFinds = (line: string, jobId: string): boolean => LEVEL_FILTER.test(line) && jobFilter(jobId).test(line);
// logging_config.py's `%(asctime)s [%(levelname)s] %(name)s: %(message)s`, datefmt %Y-%m-%dT%H:%M:%SZ.
const PYTHON_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z) \[(DEBUG|INFO|WARNING|ERROR)\] ([\w.-]+): (.*)$/;

function capture(opts: Partial<CreateLoggerOptions> = {}) {
  const out: string[] = [];
  const axiom: string[] = [];
  const handle = createLogger({
    level: 'info', environment: 'ecs', format: 'text', stdout: { write: (s: string) => out.push(s) }, secrets: [SECRET], ...opts,
  });
  return { ...handle, out, axiom };
}

describe('the text line', () => {
  it('is Python\'s format: time to the second, [LEVEL], name, message, then job_id and the fields', () => {
    const { logger, out } = capture();
    const role = logger.child({ role: 'chunk' });
    const before = new Date();
    role.info({ event_type: 'chunk_started', job_id: JOB, segments: 3 }, 'chunking started');
    expect(out).toHaveLength(1);
    const line = out[0]!;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const m = PYTHON_LINE.exec(line.slice(0, -1));
    expect(m).not.toBeNull();
    const [, time, level, name, rest] = m!;
    expect(level).toBe('INFO');
    expect(name).toBe('rugbyworker.chunk');
    expect(rest).toBe(`chunking started job_id=${JOB} event_type=chunk_started segments=3`);
    // UTC, to the second, the event's own time.
    const t = Date.parse(time!);
    expect(t).toBeGreaterThanOrEqual(Math.floor(before.getTime() / 1000) * 1000);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('names severities as Python does, fatal as ERROR so the query sees it', () => {
    const { logger, out } = capture({ level: 'trace' });
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    logger.fatal('f');
    expect(out.map((l) => PYTHON_LINE.exec(l.trimEnd())?.[2])).toEqual(['DEBUG', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'ERROR']);
    expect(out.join('')).not.toMatch(/\[WARN\]|"severity"/);
  });

  it('uses the event type as the message when there is none, and names the process without a role', () => {
    const { logger, out } = capture();
    logger.info({ event_type: 'worker_started', job_id: JOB });
    expect(out[0]).toMatch(new RegExp(`^\\S+ \\[INFO\\] rugbyworker: worker_started job_id=${JOB}\\n$`));
  });

  it('prints an error once, with its type; the stack only at debug level, on the same line', () => {
    const info = capture();
    const err = new TypeError('boom\nsecond line');
    info.logger.child({ role: 'reassemble', job_id: JOB }).error({ err, event_type: 'job_failed' }, 'reassembly failed');
    const line = info.out[0]!;
    expect(line).toMatch(/\[ERROR\] rugbyworker\.reassemble: reassembly failed job_id=\S+ event_type=job_failed err="boom\\nsecond line" err_type=TypeError\n$/);
    expect(line).not.toContain('stack=');

    const debug = capture({ level: 'debug' });
    debug.logger.error(new Error('kaput'));
    expect(debug.out[0]).toMatch(/\[ERROR\] rugbyworker: kaput err_type=Error stack="Error: kaput\\n {4}at /);
    expect(debug.out[0]!.slice(0, -1)).not.toContain('\n');
  });

  it('flattens nested fields and quotes what needs quoting', () => {
    const { logger, out } = capture();
    logger.info({ job_id: JOB, s3: { bucket: 'out', key: 'jobs/a b/final.mp4' }, indices: [0, 1], empty: '' }, 'x');
    expect(out[0]).toContain(`job_id=${JOB} s3.bucket=out s3.key="jobs/a b/final.mp4" indices=0,1 empty=""`);
  });
});

describe('what the "Open logs" query finds', () => {
  it('finds our info, warning and error lines of the job, and only those', () => {
    const { logger, out } = capture();
    const log = logger.child({ role: 'segment-infer' });
    log.info({ job_id: JOB, event_type: 'segment_started' }, 'segment 0 of 3');
    log.warn({ job_id: JOB, event_type: 'heartbeat_refused' }, 'no sqs:ChangeMessageVisibility');
    log.error({ job_id: JOB, event_type: 'job_failed' }, 'inference failed');
    log.info({ job_id: 'another-job' }, 'someone else');
    log.info({ event_type: 'worker_started' }, 'no job');
    expect(out.map((l) => openLogsFinds(l, JOB))).toEqual([true, true, true, false, false]);
  });

  it('does not find the JSON lines (why the option exists)', () => {
    const { logger, out } = capture({ format: 'json' });
    logger.info({ job_id: JOB }, 'started');
    expect(JSON.parse(out[0]!)).toMatchObject({ job_id: JOB, severity: 'info' });
    expect(openLogsFinds(out[0]!, JOB)).toBe(false);
  });

  it('matches upstream\'s own line, so the filters are the ones it relies on', () => {
    const upstream = `2026-02-26T17:37:23Z [INFO] media_worker.chunking: chunking: job_id=${JOB} start (key=input/${JOB}/source.mp4)`;
    expect(PYTHON_LINE.test(upstream)).toBe(true);
    expect(openLogsFinds(upstream, JOB)).toBe(true);
  });
});

describe('redaction and escaping, as in the JSON lines', () => {
  it('masks configured secrets in the message and the fields, URL passwords and credential parameters', () => {
    const { logger, out } = capture();
    logger.info({ job_id: JOB, token_hint: `key ${SECRET}`, url: 'https://u:hunter2@example.com/x?X-Amz-Signature=abcdef123456' }, `using ${SECRET}`);
    const line = out[0]!;
    expect(line).not.toContain(SECRET);
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('abcdef123456');
    expect(line).toContain('[REDACTED]');
    expect(openLogsFinds(line, JOB)).toBe(true);
  });

  it('masks secret-named keys at any depth', () => {
    const { logger, out } = capture();
    logger.info({ auth: { password: 'p4ssw0rd!', user: 'bob' }, AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI' }, 'x');
    expect(out[0]).toContain('auth.password=[REDACTED] auth.user=bob AWS_SECRET_ACCESS_KEY=[REDACTED]');
    expect(out[0]).toContain('auth.user=bob');
    expect(out[0]).not.toMatch(/p4ssw0rd|wJalrXUtnFEMI/);
  });

  it('keeps a secret holding a quote or a backslash masked though the text line unescapes it from JSON', () => {
    const odd = 'se"cr\\et-value';
    const { logger, out } = capture({ secrets: [odd] });
    logger.info({ note: `x ${odd} y` }, `m ${odd}`);
    expect(out[0]).not.toContain('cr\\et');
    expect(out[0]).not.toContain('cr\\\\et');
  });

  it('escapes control characters: a message or field cannot break the line or drive a terminal', () => {
    const { logger, out } = capture();
    logger.info({ job_id: JOB, body: 'a\nb\x1b]0;title\x07' }, 'line one\n2026-01-01T00:00:00Z [ERROR] forged: \x1b[2J\u202e');
    expect(out).toHaveLength(1);
    const line = out[0]!.slice(0, -1);
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\n\r\x1b\x07\u202e]/);
    expect(line).toContain('line one\\n2026-01-01T00:00:00Z [ERROR] forged: \\x1b[2J\\u202e');
    expect(line).toContain('body="a\\nb\\x1b]0;title\\x07"');
  });

  it('still sends JSON to Axiom', async () => {
    const bodies: string[] = [];
    const fetch = (async (_url: unknown, init?: { body?: unknown }) => {
      bodies.push(String(init?.body));
      return new Response('{}', { status: 200 });
    }) as unknown as typeof globalThis.fetch;
    const { logger, out, flush } = capture({ axiom: { token: 'xaat-0123456789', dataset: 'd', fetch, flushIntervalMs: 60_000 } });
    logger.info({ job_id: JOB }, 'hello');
    await flush();
    expect(out[0]).toMatch(/\[INFO\] rugbyworker: hello job_id=/);
    expect(JSON.parse(bodies[0]!.trim())).toMatchObject({ job_id: JOB, message: 'hello', severity: 'info' });
  });
});

describe('createTextFormatter', () => {
  const fmt = createTextFormatter({ now: () => new Date('2026-02-26T17:37:23.999Z') });

  it('takes the time from the event, else now', () => {
    expect(fmt('{"timestamp":"2026-01-02T03:04:05.678901Z","severity":"info","message":"m"}\n')).toBe('2026-01-02T03:04:05Z [INFO] rugbyworker: m\n');
    expect(fmt('{"timestamp":"yesterday","severity":"warning","message":"m"}\n')).toBe('2026-02-26T17:37:23Z [WARNING] rugbyworker: m\n');
  });

  it('keeps a line that is not a JSON object, escaped onto one line', () => {
    expect(fmt('not json\x1b[2J\n')).toBe('2026-02-26T17:37:23Z [INFO] rugbyworker: not json\\x1b[2J\n');
    expect(fmt('[1,2]\n')).toBe('2026-02-26T17:37:23Z [INFO] rugbyworker: [1,2]\n');
  });
});

describe('LOG_FORMAT', () => {
  it('is json unless set to text', () => {
    expect(loadConfig({ env: {} }).LOG_FORMAT).toBe('json');
    expect(loadConfig({ env: { LOG_FORMAT: 'text' } }).LOG_FORMAT).toBe('text');
  });

  it('stops start-up (exit 78) naming the variable for any other value', () => {
    let err: unknown;
    try {
      loadConfig({ env: { LOG_FORMAT: 'python' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^LOG_FORMAT must be one of .*json.*text/);
    expect((err as ConfigError).exitCode).toBe(78);
  });
});

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig } from '../../src/runtime/config/load.js';
import { ConfigError } from '../../src/runtime/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'rw-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses the seed defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.SQS_LONG_POLL_WAIT_SECONDS).toBe(20);
    expect(c.AXIOM_DATASET).toBe('rugbycodex-logs');
    expect(c.AXIOM_ENVIRONMENT).toBe('production');
    expect(c.HEARTBEAT_INTERVAL_SECONDS).toBe(240);
    expect(c.HEARTBEAT_EXTENSION_SECONDS).toBe(300);
    expect(c.CLEANUP_INTERVAL_SECONDS).toBe(21_600);
    expect(c.SHUTDOWN_GRACE_SECONDS).toBe(25);
    expect(c.HEALTH_PORT).toBeNull();
    expect(c.HEALTH_HOST).toBe('127.0.0.1');
  });

  it('applies defaults < JSON file < .env < environment < flags', () => {
    const json = file('p.json', JSON.stringify({ BUCKET_NAME: 'from-file', AXIOM_DATASET: 'from-file', AWS_REGION: 'from-file', CONCURRENCY: 2 }));
    const dotenv = file('p.env', 'AXIOM_DATASET=from-dotenv\nAWS_REGION=from-dotenv\nCONCURRENCY=3\n');
    const c = loadConfig({ file: json, dotenvPath: dotenv, env: { AWS_REGION: 'from-env', CONCURRENCY: '4' }, flags: { CONCURRENCY: '5' } });
    expect(c.BUCKET_NAME).toBe('from-file');
    expect(c.AXIOM_DATASET).toBe('from-dotenv');
    expect(c.AWS_REGION).toBe('from-env');
    expect(c.CONCURRENCY).toBe(5);
  });

  it('treats an empty variable as unset (systemd EnvironmentFile `KEY=`)', () => {
    expect(loadConfig({ env: { HEALTH_PORT: '', AXIOM_DATASET: '' } })).toMatchObject({ HEALTH_PORT: null, AXIOM_DATASET: 'rugbycodex-logs' });
  });

  it('coerces numbers and booleans from strings', () => {
    const c = loadConfig({ env: { HEALTH_PORT: '8080', VERBOSE_LOGGING: 'true', S3_FORCE_PATH_STYLE: '1' } });
    expect(c.HEALTH_PORT).toBe(8080);
    expect(c.S3_FORCE_PATH_STYLE).toBe(true);
    expect(c.LOG_LEVEL).toBe('debug');
  });

  it('keeps an explicit LOG_LEVEL over VERBOSE_LOGGING', () => {
    expect(loadConfig({ env: { VERBOSE_LOGGING: 'true', LOG_LEVEL: 'warn' } }).LOG_LEVEL).toBe('warn');
  });

  it.each([
    [{ SQS_LONG_POLL_WAIT_SECONDS: '25' }, /^SQS_LONG_POLL_WAIT_SECONDS must be an integer from 0 to 20 \(got 25\)$/],
    [{ HEALTH_PORT: 'abc' }, /^HEALTH_PORT must be a TCP port/],
    [{ SQS_QUEUE_URL: 'not a url' }, /^SQS_QUEUE_URL must be an http\(s\) URL/],
    [{ QUEUE_BACKEND: 'kafka' }, /^QUEUE_BACKEND must be one of .*sqs.*redis.*memory/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL must be a redis:\/\//],
    [{ VERBOSE_LOGGING: 'maybe' }, /^VERBOSE_LOGGING must be true or false/],
    [{ HEARTBEAT_INTERVAL_SECONDS: '300', HEARTBEAT_EXTENSION_SECONDS: '200' }, /^HEARTBEAT_EXTENSION_SECONDS must be greater than HEARTBEAT_INTERVAL_SECONDS/],
  ])('rejects %j with one line naming the variable', (env, message) => {
    const err = errorOf(() => loadConfig({ env }));
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
    expect(err.exitCode).toBe(78);
  });

  it('never echoes a secret value in an error', () => {
    const err = errorOf(() => loadConfig({ env: { REDIS_URL: 'http://user:hunter2@x' } }));
    expect(err.message).not.toContain('hunter2');
  });

  it('rejects an unknown key in the JSON file, naming it', () => {
    const json = file('bad.json', JSON.stringify({ BUCKET_NAME: 'x', BUKET_NAME: 'typo' }));
    expect(errorOf(() => loadConfig({ env: {}, file: json })).message).toMatch(/BUKET_NAME is not a rugbyworker setting/);
  });

  it('names the file when it is missing or not JSON', () => {
    expect(errorOf(() => loadConfig({ env: {}, file: join(dir, 'nope.json') })).message).toMatch(/--config .*nope\.json: cannot read the file \(ENOENT\)/);
    expect(errorOf(() => loadConfig({ env: {}, file: file('broken.json', '{"a":') })).message).toMatch(/broken\.json: not valid JSON/);
  });

  it('ignores environment variables that are not settings', () => {
    expect(() => loadConfig({ env: { HOME: '/root', SOMETHING_ELSE: 'x' } })).not.toThrow();
  });
});

describe('redactedConfig', () => {
  it('masks secrets and URL passwords but shows everything else', () => {
    const c = loadConfig({ env: { WASABI_SECRET: 'wsecret-123', WASABI_KEY: 'wkey-123', SUPABASE_SERVICE_ROLE_KEY: 'eyJsecret', AXIOM_API_TOKEN: 'xaat-123', AWS_SECRET_ACCESS_KEY: 'awssecret', REDIS_URL: 'redis://:pw-123@cache:6379', BUCKET_NAME: 'media' } });
    const r = redactedConfig(c);
    const text = JSON.stringify(r);
    for (const secret of ['wsecret-123', 'wkey-123', 'eyJsecret', 'xaat-123', 'awssecret', 'pw-123']) expect(text).not.toContain(secret);
    expect(r.WASABI_SECRET).toBe('[REDACTED]');
    expect(r.REDIS_URL).toBe('redis://:[REDACTED]@cache:6379');
    expect(r.BUCKET_NAME).toBe('media');
    expect(r.AXIOM_DATASET).toBe('rugbycodex-logs');
  });
});

import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, redactedConfig } from '../../src/runtime/config/load.js';
import { secretValues } from '../../src/runtime/config/secrets.js';
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
    expect(c.HLS_RENDITIONS).toBeNull(); // by encoder: defaultRungHeights
    expect(c.SQS_VISIBILITY_TIMEOUT).toBe(0); // the queue's own
    expect(c.SQS_TRANSCODE_QUEUE_URL).toBe('');
  });

  it('has no BUCKET_NAME any more: the bucket of every object comes from its row', () => {
    expect('BUCKET_NAME' in loadConfig({ env: { BUCKET_NAME: 'media' } })).toBe(false);
  });

  it('reads the live Jetson .env names', () => {
    const c = loadConfig({ env: { SQS_VISIBILITY_TIMEOUT: '600', RC_DEVICE_NAME: 'jetson-orin-1', SUPABASE_ANON_KEY: 'eyJanon' } });
    expect(c).toMatchObject({ SQS_VISIBILITY_TIMEOUT: 600, RC_DEVICE_NAME: 'jetson-orin-1', SUPABASE_ANON_KEY: 'eyJanon' });
  });

  it('applies defaults < JSON file < .env < environment < flags', () => {
    const json = file('p.json', JSON.stringify({ WASABI_REGION: 'from-file', AXIOM_DATASET: 'from-file', AWS_REGION: 'from-file', CONCURRENCY: 2 }));
    const dotenv = file('p.env', 'AXIOM_DATASET=from-dotenv\nAWS_REGION=from-dotenv\nCONCURRENCY=3\n');
    const c = loadConfig({ file: json, dotenvPath: dotenv, env: { AWS_REGION: 'from-env', CONCURRENCY: '4' }, flags: { CONCURRENCY: '5' } });
    expect(c.WASABI_REGION).toBe('from-file');
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
    [{ SQS_TRANSCODE_QUEUE_URL: 'not a url' }, /^SQS_TRANSCODE_QUEUE_URL must be an http\(s\) URL/],
    [{ SQS_VISIBILITY_TIMEOUT: '43201' }, /^SQS_VISIBILITY_TIMEOUT must be an integer from 0 to 43200 \(got 43201\)$/],
    [{ QUEUE_BACKEND: 'kafka' }, /^QUEUE_BACKEND must be one of .*sqs.*redis.*memory/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL must be a redis:\/\//],
    [{ VERBOSE_LOGGING: 'maybe' }, /^VERBOSE_LOGGING must be true or false/],
    [{ HEARTBEAT_INTERVAL_SECONDS: '300', HEARTBEAT_EXTENSION_SECONDS: '200' }, /^HEARTBEAT_EXTENSION_SECONDS must be greater than HEARTBEAT_INTERVAL_SECONDS/],
    [{ VERBOSE_LOGGING: 'true', HEARTBEAT_INTERVAL_SECONDS: '300', HEARTBEAT_EXTENSION_SECONDS: '200' }, /^HEARTBEAT_EXTENSION_SECONDS must be greater than HEARTBEAT_INTERVAL_SECONDS/],
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
    const json = file('bad.json', JSON.stringify({ WASABI_REGION: 'x', WASABI_REGON: 'typo' }));
    expect(errorOf(() => loadConfig({ env: {}, file: json })).message).toMatch(/WASABI_REGON is not a rugbyworker setting/);
  });

  it('names the file when it is missing or not JSON', () => {
    expect(errorOf(() => loadConfig({ env: {}, file: join(dir, 'nope.json') })).message).toMatch(/--config .*nope\.json: cannot read the file \(ENOENT\)/);
    expect(errorOf(() => loadConfig({ env: {}, file: file('broken.json', '{"a":') })).message).toMatch(/broken\.json: not valid JSON/);
  });

  it('ignores environment variables that are not settings', () => {
    expect(() => loadConfig({ env: { HOME: '/root', SOMETHING_ELSE: 'x' } })).not.toThrow();
  });
});

describe('the transcode queue URL under either name', () => {
  const A = 'https://sqs.us-east-1.amazonaws.com/123456789012/rugbycodex-transcode';
  const B = 'https://sqs.us-east-1.amazonaws.com/123456789012/other';

  it('takes SQS_TRANSCODE_QUEUE_URL, the live .env name', () => {
    expect(loadConfig({ env: { SQS_TRANSCODE_QUEUE_URL: A } }).SQS_TRANSCODE_QUEUE_URL).toBe(A);
  });

  it('takes SQS_QUEUE_URL, the seed README name, as the transcode queue', () => {
    expect(loadConfig({ env: { SQS_QUEUE_URL: A } }).SQS_TRANSCODE_QUEUE_URL).toBe(A);
  });

  it('takes both when they are equal', () => {
    expect(loadConfig({ env: { SQS_TRANSCODE_QUEUE_URL: A, SQS_QUEUE_URL: A } }).SQS_TRANSCODE_QUEUE_URL).toBe(A);
  });

  it('stops with exit 78 naming both when they differ, from whichever source', () => {
    for (const opts of [
      { env: { SQS_TRANSCODE_QUEUE_URL: A, SQS_QUEUE_URL: B } },
      { env: { SQS_QUEUE_URL: B }, dotenvPath: file('both.env', `SQS_TRANSCODE_QUEUE_URL=${A}\n`) },
    ]) {
      const err = errorOf(() => loadConfig(opts));
      expect(err.exitCode).toBe(78);
      expect(err.message).toMatch(/^SQS_TRANSCODE_QUEUE_URL and SQS_QUEUE_URL .*differ/);
      expect(err.message).not.toContain('\n');
    }
  });
});

describe('HLS_RENDITIONS', () => {
  it.each<[string, number[]]>([
    ['720', [720]],
    ['1080,720,480', [1080, 720, 480]],
    [' 1080p, 720 ', [1080, 720]],
  ])('%j → %j', (value, heights) => {
    expect(loadConfig({ env: { HLS_RENDITIONS: value } }).HLS_RENDITIONS).toEqual(heights);
  });

  it('takes a JSON array from the --config file', () => {
    expect(loadConfig({ env: {}, file: file('r.json', JSON.stringify({ HLS_RENDITIONS: [480, 360] })) }).HLS_RENDITIONS).toEqual([480, 360]);
  });

  it.each([
    ['720,abc', '"720,abc"'],
    ['1080,,720', '"1080,,720"'],
    ['720.5', '"720.5"'],
    ['0', '[0]'],
    ['5000', '[5000]'],
  ])('refuses %j with one line naming the variable and the value', (value, got) => {
    const err = errorOf(() => loadConfig({ env: { HLS_RENDITIONS: value } }));
    expect(err.exitCode).toBe(78);
    expect(err.message).toMatch(/^HLS_RENDITIONS must be rendition heights such as 1080,720,480 /);
    expect(err.message.endsWith(`(got ${got})`)).toBe(true);
    expect(err.message).not.toContain('\n');
  });
});

describe('redactedConfig', () => {
  it('masks secrets and URL passwords but shows everything else', () => {
    const c = loadConfig({ env: { WASABI_SECRET: 'wsecret-123', WASABI_KEY: 'wkey-123', SUPABASE_SERVICE_ROLE_KEY: 'eyJsecret', SUPABASE_ANON_KEY: 'eyJanon-123', AXIOM_API_TOKEN: 'xaat-123', AWS_SECRET_ACCESS_KEY: 'awssecret', REDIS_URL: 'rediss://:pw-123@cache:6379', RC_DEVICE_NAME: 'jetson-1' } });
    const r = redactedConfig(c);
    const text = JSON.stringify(r);
    for (const secret of ['wsecret-123', 'wkey-123', 'eyJsecret', 'eyJanon-123', 'xaat-123', 'awssecret', 'pw-123']) expect(text).not.toContain(secret);
    expect(r.WASABI_SECRET).toBe('[REDACTED]');
    expect(r.SUPABASE_ANON_KEY).toBe('[REDACTED]');
    expect(r.REDIS_URL).toBe('rediss://:[REDACTED]@cache:6379');
    expect(r.RC_DEVICE_NAME).toBe('jetson-1');
    expect(r.AXIOM_DATASET).toBe('rugbycodex-logs');
  });

  it('hands SUPABASE_ANON_KEY to the logger to scrub, with the other secrets', () => {
    const values = secretValues(loadConfig({ env: { SUPABASE_ANON_KEY: 'eyJanon-123', SUPABASE_SERVICE_ROLE_KEY: 'eyJsecret', RC_DEVICE_NAME: 'jetson-1' } }));
    expect(values.sort()).toEqual(['eyJanon-123', 'eyJsecret']);
  });
});

describe('URL passwords and tokens in settings', () => {
  it('rugbyworker config masks a password holding an @, and token query parameters', () => {
    const r = redactedConfig(loadConfig({ env: { SUPABASE_URL: 'https://u:pa@ss@x.supabase.co', INFERENCE_HTTP_URL: 'https://infer.example/v1?token=tok-123&model=a', REDIS_URL: 'rediss://:p@ss@cache:6380' } }));
    expect(r.SUPABASE_URL).toBe('https://u:[REDACTED]@x.supabase.co');
    expect(r.INFERENCE_HTTP_URL).toBe('https://infer.example/v1?token=[REDACTED]&model=a');
    expect(r.REDIS_URL).toBe('rediss://:[REDACTED]@cache:6380');
    expect(JSON.stringify(r)).not.toMatch(/ss@x|tok-123|p@ss/);
  });

  it('hands the password of a URL setting to the redactors, as written and decoded', () => {
    const values = secretValues(loadConfig({ env: { SUPABASE_URL: 'https://u:pa@ss@x.supabase.co' } }));
    expect(values.sort()).toEqual(['pa%40ss', 'pa@ss']);
  });
});

describe('unencrypted endpoints that carry a credential', () => {
  it.each([
    ['SUPABASE_URL', 'http://db.example.com', /the service role key/],
    ['AXIOM_URL', 'http://axiom.internal:8080', /the Axiom token/],
    ['WASABI_ENDPOINT', 'http://192.168.1.10:9000', /WASABI_KEY/],
    ['AWS_ENDPOINT_URL', 'http://10.0.0.2:4566', /AWS credentials/],
    ['AWS_ENDPOINT_URL_SQS', 'http://sqs.local:4566', /AWS credentials/],
    ['AWS_ENDPOINT_URL_S3', 'http://[fd00::1]:9000', /AWS credentials/],
    ['AWS_ENDPOINT_URL_DYNAMODB', 'http://dynamo:8000', /AWS credentials/],
    ['SQS_TRANSCODE_QUEUE_URL', 'http://sqs.example.com/123/q', /AWS credentials/],
    ['CHUNKING_QUEUE_URL', 'http://128.0.0.1/123/q', /AWS credentials/],
    ['INFERENCE_HTTP_URL', 'http://user:s3cr%40t@infer.lan:8080', /the password in it/],
    ['REDIS_URL', 'redis://:p@ss@cache:6379', /the password in it/],
  ])('%s=%s stops start-up (78) with one line naming it', (key, value, what) => {
    const err = errorOf(() => loadConfig({ env: { [key]: value } }));
    expect(err.exitCode).toBe(78);
    expect(err.message).toMatch(new RegExp(`^${key} is unencrypted (http|redis):// to \\S+, not this machine: `));
    expect(err.message).toMatch(what);
    expect(err.message).toMatch(/ALLOW_INSECURE_HTTP=true/);
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toMatch(/s3cr|p@ss|ss@/);
    expect(loadConfig({ env: { [key]: value, ALLOW_INSECURE_HTTP: '1' } })[key as 'SUPABASE_URL']).toBe(value);
  });

  it.each([
    ['SUPABASE_URL', 'http://127.0.0.1:54321'],
    ['SUPABASE_URL', 'http://127.9.8.7'],
    ['WASABI_ENDPOINT', 'http://localhost:9000'],
    ['AWS_ENDPOINT_URL', 'http://[::1]:4566'],
    ['AWS_ENDPOINT_URL_S3', 'http://[::ffff:127.0.0.1]:9000'],
    ['AWS_ENDPOINT_URL_SQS', 'http://sqs.us-east-1.localhost:4566'],
    ['AXIOM_URL', 'https://axiom.internal'],
    ['SUPABASE_URL', 'https://u:pa@ss@x.supabase.co'],
    ['INFERENCE_HTTP_URL', 'http://inference.lan:8080'], // no credential goes there
    ['REDIS_URL', 'redis://cache:6379'],
    ['REDIS_URL', 'rediss://:pw@cache:6380'],
    ['REDIS_URL', 'redis://:pw@127.0.0.1:6379'],
  ])('%s=%s is fine', (key, value) => {
    expect(loadConfig({ env: { [key]: value } })[key as 'SUPABASE_URL']).toBe(value);
  });

  it('a queue URL counts only when it is where the SQS calls go (no AWS_ENDPOINT_URL[_SQS])', () => {
    const queue = 'http://sqs.example.com/000000000000/q';
    for (const endpoint of [{ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, { AWS_ENDPOINT_URL_SQS: 'https://sqs.example.com' }]) {
      expect(loadConfig({ env: { ...endpoint, CHUNKING_QUEUE_URL: queue } }).CHUNKING_QUEUE_URL).toBe(queue);
    }
    expect(errorOf(() => loadConfig({ env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000', CHUNKING_QUEUE_URL: queue } })).message).toMatch(/^CHUNKING_QUEUE_URL is unencrypted/);
  });
});

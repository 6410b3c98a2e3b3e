// The shipped x64 executable, driven as an operator would.
import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startFauxqs, type LocalServer } from '../helpers/servers.js';
import { runExe, spawnExe, waitForExit, waitForHttp } from '../helpers/binary.js';

const cwd = mkdtempSync(join(tmpdir(), 'rw-e2e-')); // no stray .env from the repo

describe('rugbyworker executable', () => {
  it('--list-roles prints the six roles with a description each', async () => {
    const r = await runExe(['--list-roles'], { cwd });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(['transcode', 'cleanup', 'chunk', 'segment-infer', 'trigger', 'reassemble']);
    for (const l of lines) expect(l.length).toBeGreaterThan(40);
  });

  it('refuses an unknown role, listing the valid ones (exit 64)', async () => {
    const r = await runExe(['--role', 'transcoder'], { cwd });
    expect(r.code).toBe(64);
    expect(r.stderr.trim()).toBe("rugbyworker: unknown role 'transcoder' (valid roles: transcode, cleanup, chunk, segment-infer, trigger, reassemble, or all, or none)");
  });

  it('stops on a missing setting with one line naming it (exit 78)', async () => {
    const r = await runExe(['--role', 'transcode'], { cwd, env: { SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k' } });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: SQS_TRANSCODE_QUEUE_URL is required: SQS queue URL (or its other name, SQS_QUEUE_URL) (role transcode)\n');
    expect(r.stdout).toBe('');
  });

  it('stops on a malformed setting with one line naming it (exit 78)', async () => {
    const r = await runExe(['config'], { cwd, env: { SQS_LONG_POLL_WAIT_SECONDS: 'soon' } });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: SQS_LONG_POLL_WAIT_SECONDS must be an integer from 0 to 20 (got "soon")\n');
  });

  it('INFERENCE_BACKEND=sagemaker without its endpoint stops start-up naming SAGEMAKER_ENDPOINT_NAME (exit 78)', async () => {
    const stereo = { QUEUE_BACKEND: 'memory', INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'j', SEGMENT_COMPLETIONS_TABLE_NAME: 's', REASSEMBLY_TRIGGERED_TABLE_NAME: 'r', INFERENCE_BACKEND: 'sagemaker' };
    const missing = await runExe(['--role', 'segment-infer'], { cwd, env: stereo });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/^rugbyworker: SAGEMAKER_ENDPOINT_NAME is required/);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a role that cannot start (FFMPEG_PATH is no ffmpeg) exits 78 with one line, instead of idling', async () => {
    const r = await runExe(['--role', 'transcode'], {
      cwd, timeoutMs: 20_000,
      env: { QUEUE_BACKEND: 'memory', SUPABASE_URL: 'http://127.0.0.1:9', SUPABASE_SERVICE_ROLE_KEY: 'k', FFMPEG_PATH: '/nonexistent/ffmpeg' },
    });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 78, signal: null });
    expect(r.stderr).toMatch(/^rugbyworker: FFMPEG_PATH=\/nonexistent\/ffmpeg is not an executable file; [^\n]*\n$/);
    const events = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { event_type?: string }).event_type);
    expect(events).toEqual(expect.arrayContaining(['worker_started', 'shutdown_completed']));
  }, 30_000);

  it('stops when an endpoint that carries a credential is plain http:// to another machine (78, one line naming it), unless ALLOW_INSECURE_HTTP', async () => {
    for (const [key, value, host] of [['SUPABASE_URL', 'http://db.example.com', 'db.example.com'], ['WASABI_ENDPOINT', 'http://192.168.1.10:9000', '192.168.1.10'], ['AXIOM_URL', 'http://u:p@ss@axiom.lan', 'axiom.lan']] as const) {
      const r = await runExe(['--role', 'none', '--once'], { cwd, env: { [key]: value } });
      expect([r.code, r.stdout]).toEqual([78, '']);
      expect(r.stderr).toMatch(new RegExp(`^rugbyworker: ${key} is unencrypted http:// to ${host.replace(/\./g, '\\.')}, not this machine: .* use https://, or set ALLOW_INSECURE_HTTP=true if that network is trusted\n$`));
      expect(r.stderr).not.toMatch(/p@ss|ss@/);
    }
    const allowed = await runExe(['--role', 'none', '--once'], { cwd, env: { SUPABASE_URL: 'http://db.example.com', WASABI_ENDPOINT: 'http://192.168.1.10:9000', ALLOW_INSECURE_HTTP: '1' } });
    expect([allowed.code, allowed.stderr]).toEqual([0, '']);
    // Loopback needs nothing (every stand-in of these tests is on 127.0.0.1).
    const local = await runExe(['config', '--json'], { cwd, env: { SUPABASE_URL: 'http://127.0.0.1:54321', WASABI_ENDPOINT: 'http://localhost:9000', AWS_ENDPOINT_URL: 'http://[::1]:4566' } });
    expect(local.code).toBe(0);
    expect(JSON.parse(local.stdout)).toMatchObject({ ALLOW_INSECURE_HTTP: false, SUPABASE_URL: 'http://127.0.0.1:54321' });
  });

  it('masks URL passwords and tokens in its error lines', async () => {
    const r = await runExe(['config'], { cwd, env: { SQS_TRANSCODE_QUEUE_URL: 'https://u:p@ss@sqs.example.com/1/a', SQS_QUEUE_URL: 'https://sqs.example.com/1/b?X-Amz-Signature=feedface01' } });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: SQS_TRANSCODE_QUEUE_URL and SQS_QUEUE_URL both name the transcode queue but differ (https://u:[REDACTED]@sqs.example.com/1/a vs https://sqs.example.com/1/b?X-Amz-Signature=[REDACTED]): set one of them\n');
  });

  it('config prints the effective settings with secrets redacted', async () => {
    const secrets = { WASABI_SECRET: 'wasabi-secret-value', SUPABASE_SERVICE_ROLE_KEY: 'service-role-value', AXIOM_API_TOKEN: 'xaat-token-value', AWS_SECRET_ACCESS_KEY: 'aws-secret-value' };
    const r = await runExe(['config', '--json'], { cwd, env: { ...secrets, SUPABASE_ANON_KEY: 'anon-key-value', RC_DEVICE_NAME: 'jetson-01', AXIOM_ENVIRONMENT: 'jetson' } });
    expect(r.code).toBe(0);
    for (const v of Object.values(secrets)) expect(r.stdout).not.toContain(v);
    const shown = JSON.parse(r.stdout);
    expect(r.stdout).not.toContain('anon-key-value');
    expect(shown).toMatchObject({ SUPABASE_ANON_KEY: '[REDACTED]', RC_DEVICE_NAME: 'jetson-01', AXIOM_ENVIRONMENT: 'jetson', WASABI_SECRET: '[REDACTED]', AXIOM_API_TOKEN: '[REDACTED]', SQS_LONG_POLL_WAIT_SECONDS: 20 });
  });

  it('reads a JSON --config file and lets the environment win', async () => {
    const file = join(cwd, 'settings.json');
    writeFileSync(file, JSON.stringify({ HLS_RENDITIONS: '720', AWS_REGION: 'eu-west-1' }));
    const r = await runExe(['config', '--json', '--config', file], { cwd, env: { AWS_REGION: 'us-west-2' } });
    expect(JSON.parse(r.stdout)).toMatchObject({ HLS_RENDITIONS: [720], AWS_REGION: 'us-west-2' });
  });

  describe('running', () => {
    it('answers /health and /metrics, logs JSON events, and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const child = spawnExe(['--role', 'none', '--health-port', String(port)], { cwd, env: { AXIOM_ENVIRONMENT: 'e2e' } });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
      try {
        const health = await waitForHttp(`http://127.0.0.1:${port}/health`, 10_000, { status: 200 });
        expect(JSON.parse(health.body)).toMatchObject({ status: 'healthy', roles: [] });
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(res.status).toBe(200);
        expect(await res.text()).toMatch(/^process_resident_memory_bytes \d+/m);
        const json = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Accept: 'application/json' } })).json() as Record<string, unknown>;
        expect(json).toHaveProperty('memory.rss_mb');
      } finally {
        child.kill('SIGTERM');
      }
      expect(await waitForExit(child, 15_000)).toBe(0);
      const events = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const types = events.map((e) => e.event_type);
      expect(types).toEqual(expect.arrayContaining(['worker_started', 'shutdown_started', 'shutdown_completed']));
      for (const e of events) {
        expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        expect(e.environment).toBe('e2e');
      }
    });

    it('/health names a dependency that is down without the password of its URL (an @ in it), as the logs do', async () => {
      const port = await freePort();
      const deadPort = await freePort();
      // fetch refuses a URL with credentials and quotes it (password encoded, p%40ss) in its error.
      const child = spawnExe(['--role', 'cleanup', '--health-port', String(port)], {
        cwd, env: { SUPABASE_URL: `http://user:p@ss@127.0.0.1:${deadPort}`, SUPABASE_SERVICE_ROLE_KEY: 'svc-key-9f8e7d' },
      });
      let out = '';
      child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
      try {
        const health = await waitForHttp(`http://127.0.0.1:${port}/health`, 25_000, { status: 503, intervalMs: 250 });
        const body = JSON.parse(health.body) as { failing: Array<{ name: string; detail: string }> };
        expect(body.failing).toEqual([{ name: 'supabase', detail: expect.stringContaining(`http://user:[REDACTED]@127.0.0.1:${deadPort}/rest/v1/`) }]);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const text of [health.body, metrics, out]) expect(text).not.toMatch(/p@ss|p%40ss|ss@|svc-key-9f8e7d/);
      } finally {
        child.kill('SIGKILL'); // a graceful stop would wait out supabase-js's retries of the pass in flight
      }
      await waitForExit(child, 5_000);
    }, 40_000);

    it('--once with no work exits 0 straight away', async () => {
      const r = await runExe(['--role', 'none', '--once'], { cwd });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/"event_type":"shutdown_completed"/);
    });
  });

  describe('doctor', () => {
    let fauxqs: LocalServer;
    afterAll(async () => { await fauxqs?.stop(); });

    it('reports ffmpeg, hardware decode and encode and endpoints, one ✓/✗ line each, and fails on what the roles need', async () => {
      fauxqs = await startFauxqs();
      const { SQSClient, CreateQueueCommand } = await import('@aws-sdk/client-sqs');
      const sqs = new SQSClient({ endpoint: fauxqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'transcode' }));
      sqs.destroy();
      const deadPort = await freePort();
      const env = {
        // Not 'test': doctor masks secret values wherever they appear, and "test encode" would lose a word.
        AWS_ENDPOINT_URL: fauxqs.endpoint, AWS_ACCESS_KEY_ID: 'fauxqs-key-id', AWS_SECRET_ACCESS_KEY: 'fauxqs-secret',
        SQS_TRANSCODE_QUEUE_URL: QueueUrl, WASABI_ENDPOINT: `http://127.0.0.1:${deadPort}`, WASABI_KEY: 'wk', WASABI_SECRET: 'ws',
        // A password holding an @: fetch refuses the URL and quotes it; doctor must not.
        SUPABASE_URL: `http://user:p@ss@127.0.0.1:${deadPort}`, SUPABASE_SERVICE_ROLE_KEY: 'k',
      };
      const r = await runExe(['doctor', '--role', 'transcode'], { cwd, env, timeoutMs: 60_000 });
      const lines = r.stdout.trim().split('\n');
      const line = (name: string) => lines.find((l) => l.slice(2).startsWith(`${name}:`)) ?? `(no ${name} line in ${r.stdout})`;
      expect(line('ffmpeg')).toMatch(/^✓ ffmpeg: \d+\.\d+.* at \//);
      expect(line('ffmpeg self-test')).toMatch(/^✓ ffmpeg self-test: encoded and read back 1 s of H\.264\/AAC/);
      expect(line('hardware decode')).toMatch(/^✓ hardware decode: software decode; /);
      // Debian's ffmpeg lists h264_nvenc; without a GPU its test encode fails.
      expect(line('hardware encode')).toMatch(/^✓ hardware encode: libx264 \(software encode\); (h264_nvenc listed but test encode failed: |no hardware H\.264 encoder listed)/);
      expect(line('SQS_TRANSCODE_QUEUE_URL reachable')).toMatch(/^✓ SQS_TRANSCODE_QUEUE_URL reachable: 0 waiting, 0 in flight/);
      expect(line('WASABI_ENDPOINT reachable')).toMatch(/^✗ WASABI_ENDPOINT reachable: /);
      expect(line('SUPABASE_URL reachable')).toMatch(/^✗ SUPABASE_URL reachable: /);
      expect(lines.at(-1)).toBe('doctor: 2 problems for roles transcode: WASABI_ENDPOINT reachable, SUPABASE_URL reachable');
      expect(r.code).toBe(1);
      expect(r.stdout).not.toMatch(/fauxqs-key-id|fauxqs-secret/); // the secret values never show
      expect(r.stdout).not.toMatch(/p@ss|p%40ss|ss@/);
    }, 90_000);

    it('names every missing setting and exits 1', async () => {
      const r = await runExe(['doctor', '--role', 'cleanup'], { cwd, env: { WASABI_REGION: 'us-east-1' }, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^✗ SUPABASE_URL: not set: Supabase project URL \(role cleanup\)$/m);
      expect(r.stdout).toMatch(/^✗ SUPABASE_SERVICE_ROLE_KEY: not set/m);
    }, 90_000);

    it('passes in local mode where ffmpeg works', async () => {
      const r = await runExe(['doctor'], { cwd, timeoutMs: 60_000 });
      expect(r.stdout.trim().split('\n').at(-1)).toBe('doctor: ready for local mode');
      expect(r.code).toBe(0);
    }, 90_000);

    it('fails in local mode when ffmpeg cannot be found, saying what to set', async () => {
      const r = await runExe(['doctor'], { cwd, env: { FFMPEG_PATH: '/nonexistent/ffmpeg' }, timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^✗ ffmpeg: .*FFMPEG_PATH/m);
    }, 90_000);
  });
});

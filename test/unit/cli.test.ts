import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli.js';
import type { Io } from '../../src/commands/io.js';

const cwd = mkdtempSync(join(tmpdir(), 'rw-cli-'));

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; }, env, cwd };
  const code = await main(['node', 'rugbyworker', ...args], io);
  return { code, stdout, stderr };
}

describe('cli', () => {
  it('--version names version, commit, Node and arch', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^rugbyworker \\S+ \\(commit \\S+\\) node ${process.version.replace(/\./g, '\\.')} linux-${process.arch}\\n$`));
  });

  it('asks for --role when nothing is chosen (exit 64)', async () => {
    const r = await cli([]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^rugbyworker: choose what to run with --role/);
  });

  it('rejects unknown options and bad --log-level values as usage errors', async () => {
    expect((await cli(['--rol', 'x'])).code).toBe(64);
    const r = await cli(['--role', 'none', '--log-level', 'loud']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/--log-level.*loud/);
  });

  it('maps flags onto settings, winning over the environment', async () => {
    const r = await cli(['config', '--json', '--concurrency', '6', '--health-port', '9999', '--log-level', 'debug'], { CONCURRENCY: '2', HEALTH_PORT: '1' });
    expect(JSON.parse(r.stdout)).toMatchObject({ CONCURRENCY: 6, HEALTH_PORT: 9999, LOG_LEVEL: 'debug' });
  });

  it('reports a bad flag value as a config error naming the setting (exit 78)', async () => {
    const r = await cli(['--role', 'none', '--concurrency', 'lots']);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: CONCURRENCY must be an integer from 1 to 1000000 (got "lots")\n');
  });

  it('lists every missing setting of the chosen roles in the one line', async () => {
    const r = await cli(['--role', 'trigger']);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: REASSEMBLY_QUEUE_URL is required: SQS queue URL (role trigger) (and 4 more: OUTPUT_BUCKET_NAME, JOBS_TABLE_NAME, SEGMENT_COMPLETIONS_TABLE_NAME, REASSEMBLY_TRIGGERED_TABLE_NAME)\n');
  });

  it('takes SQS_QUEUE_URL for the transcode queue: only what is really missing is reported', async () => {
    const r = await cli(['--role', 'transcode'], { SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/transcode' });
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('rugbyworker: SUPABASE_URL is required: Supabase project URL (role transcode) (and 1 more: SUPABASE_SERVICE_ROLE_KEY)\n');
  });

  it('stops with exit 78 naming both queue variables when they differ', async () => {
    const r = await cli(['config'], { SQS_TRANSCODE_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/a', SQS_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/b' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/^rugbyworker: SQS_TRANSCODE_QUEUE_URL and SQS_QUEUE_URL .*differ.*\n$/);
    expect(r.stdout).toBe('');
  });

  it('config never prints SUPABASE_ANON_KEY', async () => {
    const r = await cli(['config', '--json'], { SUPABASE_ANON_KEY: 'eyJanon-secret' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('eyJanon-secret');
    expect(JSON.parse(r.stdout)).toMatchObject({ SUPABASE_ANON_KEY: '[REDACTED]' });
  });

});

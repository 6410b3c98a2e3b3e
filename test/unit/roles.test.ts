import { describe, expect, it } from '@jest/globals';
import { ROLE_NAMES, ROLES } from '../../roles/index.js';
import { missingSettings, requiredSettings } from '../../src/domain/requirements.js';
import { parseRoleSelection } from '../../src/domain/role-selection.js';

const valid = ['transcode', 'cleanup', 'chunk'];

describe('parseRoleSelection', () => {
  it('accepts names, trims, de-duplicates', () => {
    expect(parseRoleSelection(' transcode, cleanup,transcode', valid)).toEqual({ ok: true, names: ['transcode', 'cleanup'] });
  });
  it('expands all to every role and none to no role', () => {
    expect(parseRoleSelection('all', valid)).toEqual({ ok: true, names: valid });
    expect(parseRoleSelection('none', valid)).toEqual({ ok: true, names: [] });
  });
  it('names unknown roles and lists the valid ones', () => {
    const r = parseRoleSelection('transcode,transcoder', valid);
    expect(r).toEqual({ ok: false, error: "unknown role 'transcoder' (valid roles: transcode, cleanup, chunk, or all, or none)" });
  });
  it('refuses empty lists and mixing all/none with names', () => {
    expect(parseRoleSelection(' , ', valid).ok).toBe(false);
    expect(parseRoleSelection('all,cleanup', valid).ok).toBe(false);
    expect(parseRoleSelection('none,cleanup', valid).ok).toBe(false);
  });
});

describe('role registry', () => {
  it('names the six roles of the design', () => {
    // The names systemd units and task definitions already use: more may come, none may go.
    expect(ROLE_NAMES).toEqual(expect.arrayContaining(['transcode', 'cleanup', 'chunk', 'segment-infer', 'trigger', 'reassemble']));
    for (const r of ROLES) expect(r.description.length).toBeGreaterThan(20);
  });
});

describe('requiredSettings', () => {
  const transcode = ROLES.find((r) => r.name === 'transcode')!;
  const cleanup = ROLES.find((r) => r.name === 'cleanup')!;
  const infer = ROLES.find((r) => r.name === 'segment-infer')!;
  const sqs = { QUEUE_BACKEND: 'sqs', INFERENCE_BACKEND: 'stub' };

  it('asks transcode for its queue (under the live name) and Supabase, and no bucket name', () => {
    expect(requiredSettings('transcode', transcode.needs, sqs).map((r) => r.key))
      .toEqual(['SQS_TRANSCODE_QUEUE_URL', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY']);
  });
  it('asks cleanup for Supabase only: the bucket of every row comes from the row', () => {
    expect(requiredSettings('cleanup', cleanup.needs, sqs).map((r) => r.key)).toEqual(['SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY']);
  });
  it('both use the media storage', () => {
    expect([transcode.needs.mediaStorage, cleanup.needs.mediaStorage]).toEqual([true, true]);
  });
  it.each(['transcode', 'cleanup'])('asks %s for Wasabi keys only when WASABI_ENDPOINT is set', (name) => {
    const role = ROLES.find((r) => r.name === name)!;
    const keys = requiredSettings(name, role.needs, { ...sqs, WASABI_ENDPOINT: 'https://s3.wasabisys.com' }).map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['WASABI_KEY', 'WASABI_SECRET']));
    expect(requiredSettings(name, role.needs, sqs).map((r) => r.key)).not.toContain('WASABI_KEY');
  });
  it('follows the queue backend', () => {
    expect(requiredSettings('transcode', transcode.needs, { ...sqs, QUEUE_BACKEND: 'redis' }).map((r) => r.key)).toContain('REDIS_URL');
    expect(requiredSettings('transcode', transcode.needs, { ...sqs, QUEUE_BACKEND: 'memory' }).map((r) => r.key)).not.toContain('SQS_TRANSCODE_QUEUE_URL');
  });
  it('follows the inference backend', () => {
    expect(requiredSettings('segment-infer', infer.needs, { ...sqs, INFERENCE_BACKEND: 'sagemaker' }).map((r) => r.key)).toContain('SAGEMAKER_ENDPOINT_NAME');
    expect(requiredSettings('segment-infer', infer.needs, { ...sqs, INFERENCE_BACKEND: 'http' }).map((r) => r.key)).toContain('INFERENCE_HTTP_URL');
    expect(requiredSettings('segment-infer', infer.needs, sqs).map((r) => r.key)).not.toContain('INFERENCE_HTTP_URL');
  });
  it('reports only what is empty, once, with the role in the reason', () => {
    const missing = missingSettings([transcode, cleanup], { ...sqs, SUPABASE_URL: 'https://x.supabase.co' });
    expect(missing).toEqual([
      { key: 'SQS_TRANSCODE_QUEUE_URL', reason: 'SQS queue URL (or its other name, SQS_QUEUE_URL) (role transcode)' },
      { key: 'SUPABASE_SERVICE_ROLE_KEY', reason: 'Supabase service role key (role transcode)' },
    ]);
  });
});

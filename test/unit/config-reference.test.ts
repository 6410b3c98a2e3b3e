import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { configReference, withReference } from '../../src/runtime/config/reference.js';
import { schema } from '../../src/runtime/config/schema.js';

describe('README configuration reference', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('matches the schema (run `npm run docs:config` after changing it)', () => {
    expect(withReference(readme)).toBe(readme);
  });

  it('has one row per setting and marks secrets', () => {
    const table = configReference();
    for (const key of Object.keys(schema)) expect(table).toContain(`| \`${key}\` |`);
    expect(table).toMatch(/`WASABI_SECRET` .*secret: never printed/);
    expect(table).toMatch(/`SUPABASE_ANON_KEY` .*secret: never printed/);
    expect(table).toMatch(/`RC_DEVICE_NAME` /);
    expect(table).not.toMatch(/`RC_DEVICE_NAME` .*secret/);
    expect(table).not.toContain('`BUCKET_NAME`');
  });
});

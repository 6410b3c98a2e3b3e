import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { describeError as errorMessage } from '../../src/domain/describe-error.js';
import { PermanentError } from '../../src/ports/index.js';
import { parseMessageBody } from '../../src/runtime/validation.js';
import { defaultRetryDelay } from '../../src/runtime/consumer.js';

const Schema = z.object({ bucket: z.string(), key: z.string().min(1), size: z.number().int().optional() });

describe('parseMessageBody', () => {
  it('returns the typed value of a valid body', () => {
    expect(parseMessageBody('{"bucket":"b","key":"k","size":3}', Schema)).toEqual({ ok: true, value: { bucket: 'b', key: 'k', size: 3 } });
  });

  it('reports invalid JSON in one line', () => {
    const r = parseMessageBody('{"bucket":', Schema);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/^invalid JSON: /);
      expect(r.reason).not.toContain('\n');
    }
  });

  it('names every failing field with its path', () => {
    const r = parseMessageBody('{"bucket":1,"key":""}', Schema);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(/^schema: bucket: .+; key: .+/);
      expect(r.reason).not.toContain('\n');
    }
  });

  it('reports a body that is not an object at all', () => {
    const r = parseMessageBody('"just a string"', Schema);
    expect(r).toMatchObject({ ok: false });
  });

  it('clips a huge reason', () => {
    const wide = z.object(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}`, z.string()])));
    const r = parseMessageBody('{}', wide);
    if (r.ok) throw new Error('expected a failure');
    expect(r.reason.length).toBeLessThanOrEqual(500);
    expect(r.reason.endsWith('…')).toBe(true);
  });
});

describe('errorMessage', () => {
  it('is one line and names non-plain errors', () => {
    expect(errorMessage(new Error('a\n  b'))).toBe('a b');
    expect(errorMessage(new PermanentError('bad input'))).toBe('PermanentError: bad input');
    expect(errorMessage(42)).toBe('42');
  });
});

describe('defaultRetryDelay', () => {
  it('grows from 5 s and is capped at 5 min, with equal jitter', () => {
    const top = (): number => 0.999999;
    const zero = (): number => 0;
    expect(defaultRetryDelay(1, top)).toBe(5);
    expect(defaultRetryDelay(2, top)).toBe(10);
    expect(defaultRetryDelay(3, zero)).toBe(10); // half of 20 s at the bottom of the jitter
    expect(defaultRetryDelay(20, top)).toBe(300);
  });
});

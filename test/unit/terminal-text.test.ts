import { describe, expect, it } from '@jest/globals';
import { escapeControlChars, hasControlChars, terminalSafeJson } from '../../src/runtime/terminal-text.js';

describe('escapeControlChars', () => {
  it('shows terminal escapes, 8-bit controls and bidi overrides as escapes', () => {
    expect(escapeControlChars('a\x1b]0;pwned\x07b\x1b[2Jc')).toBe('a\\x1b]0;pwned\\x07b\\x1b[2Jc');
    expect(escapeControlChars('\u009b2J \u009d0;t\u009c \u202egnp.exe \x7f \x00')).toBe('\\x9b2J \\x9d0;t\\x9c \\u202egnp.exe \\x7f \\x00');
  });

  it('escapes line breaks and tabs on a one-line output, keeps them on a multi-line one (a CR never)', () => {
    expect(escapeControlChars('a\nb\tc\rd')).toBe('a\\nb\\tc\\rd');
    expect(escapeControlChars('a\nb\tc\rd', { multiline: true })).toBe('a\nb\tc\\rd');
  });

  it('leaves ordinary text, accents and emoji alone', () => {
    const text = 'Zoë — 12 ✓ 🏉 "quoted" \\ back';
    expect(escapeControlChars(text)).toBe(text);
    expect(hasControlChars(text)).toBe(false);
    expect(hasControlChars('a\nb')).toBe(true);
  });

  it('terminalSafeJson escapes what JSON.stringify leaves raw, as the same JSON value', () => {
    const value = { body: 'x\u009b2J\u202e\x1b' };
    const json = terminalSafeJson(JSON.stringify(value));
    expect(json).toBe('{"body":"x\\u009b2J\\u202e\\u001b"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});

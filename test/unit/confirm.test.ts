import { describe, expect, it } from '@jest/globals';
import { confirm, notConfirmed, type Terminal } from '../../src/commands/confirm.js';

const answering = (answer: string): Terminal & { asked: string[] } => {
  const asked: string[] = [];
  return { asked, ask: async (q) => { asked.push(q); return answer; } };
};

describe('confirm', () => {
  it('--yes never asks; without a terminal nothing is asked and the answer is no-terminal', async () => {
    const t = answering('n');
    expect(await confirm('Go?', { yes: true, terminal: t })).toBe('yes');
    expect(t.asked).toEqual([]);
    expect(await confirm('Go?', { yes: false, terminal: null })).toBe('no-terminal');
  });

  it('on a terminal only y or yes (any case, spaces) confirms', async () => {
    for (const a of ['y', 'YES', ' Yes ']) expect(await confirm('Go?', { yes: false, terminal: answering(a) })).toBe('yes');
    for (const a of ['', 'n', 'no', 'yep']) expect(await confirm('Go?', { yes: false, terminal: answering(a) })).toBe('declined');
    const t = answering('y');
    await confirm('Go?', { yes: false, terminal: t });
    expect(t.asked).toEqual(['Go? [y/N] ']);
  });

  it('the refusal says what was not done and, without a terminal, to pass --yes', () => {
    expect(notConfirmed('no-terminal', 'purge 3').message).toBe('purge 3: not done, no terminal to confirm on; pass --yes to do it without asking');
    expect(notConfirmed('declined', 'purge 3').message).toBe('purge 3: not done (not confirmed); nothing changed');
    expect(notConfirmed('declined', 'x').exitCode).toBe(1);
  });
});

// The log event catalogue (src/runtime/logger/events.ts) against the code: every `event_type`
// literal written in src/ or roles/ is listed, every listed event is written somewhere, and the
// README's list is the one generated from the catalogue.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_EVENTS, isLogEvent } from '../../src/runtime/logger/events.js';
import { withLogEvents } from '../../src/runtime/logger/event-reference.js';
import { repoRoot } from '../helpers/binary.js';

function sources(): string[] {
  return ['src', 'roles'].flatMap((dir) => readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')));
}

const texts = sources();
/** Events written as a literal `event_type: '…'`. */
const literals = new Set(texts.flatMap((t) => [...t.matchAll(/event_type:\s*'([^']+)'/g)].map((m) => m[1] as string)));
/** A periodic pass writes `<name>_sleeping` (src/runtime/periodic.ts): the names its callers give. */
const sleeping = new Set(texts.filter((t) => t.includes('startPeriodic({'))
  .flatMap((t) => [...t.matchAll(/startPeriodic\(\{\s*name:\s*'([^']+)'/g)].map((m) => `${m[1] as string}_sleeping`)));

describe('log event catalogue', () => {
  it('lists every event_type literal in src/ and roles/', () => {
    expect(literals.size).toBeGreaterThan(100);
    expect([...literals].filter((e) => !isLogEvent(e))).toEqual([]);
  });

  it('lists no event nobody writes, and each event once', () => {
    const listed = Object.values(LOG_EVENTS).flat() as string[];
    expect(listed.filter((e) => !literals.has(e) && !sleeping.has(e))).toEqual([]);
    expect(listed.filter((e, i) => listed.indexOf(e) !== i)).toEqual([]);
  });

  it('the README list is the generated one (`npm run docs:events` rewrites it)', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(withLogEvents(readme)).toBe(readme);
  });
});

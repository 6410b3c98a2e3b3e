import { describe, expect, it } from '@jest/globals';
import {
  KNOWN_STATUSES, STATUS_WRITES, canBecome, chunkDecision, ingestDecision, isKnownStatus, isTerminal, isWritableStatus, reassemblyDecision,
  segmentDecision, statusesBefore, writesStatus,
} from '../../src/domain/stereo/job-state.js';
import { FOREIGN_STATUSES, WRITABLE_STATUSES } from '../../src/domain/stereo/records.js';
import type { WritableStatus } from '../../src/domain/stereo/records.js';

// Upstream's JobStatus at ecba15e, and the three later stereo-spot statuses (its main):
// the split topology's workers write ingesting and reassembling; deleted is the web UI's.
const WRITABLE = ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed'];
const FOREIGN = ['deleted'];
const ALL = ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling', 'completed', 'failed', 'deleted'];

const LEGAL = new Set([
  'created→ingesting',
  'created→chunking_in_progress',
  'created→failed',
  'ingesting→created',
  'ingesting→failed',
  'chunking_in_progress→chunking_in_progress',
  'chunking_in_progress→chunking_complete',
  'chunking_in_progress→failed',
  'chunking_complete→reassembling',
  'chunking_complete→completed',
  'chunking_complete→failed',
  'reassembling→completed',
  'reassembling→failed',
]);

describe('the statuses', () => {
  it('are upstream\'s, in lifecycle order', () => {
    expect([...WRITABLE_STATUSES]).toEqual(WRITABLE);
    expect([...FOREIGN_STATUSES]).toEqual(FOREIGN);
    expect([...KNOWN_STATUSES]).toEqual(ALL);
  });

  // test_models.py TestJob: a Job validates with any JobStatus and refuses "invalid_status".
  it('isKnownStatus takes every status and nothing else (test_models.py test_invalid_status_rejected)', () => {
    for (const s of ALL) expect(isKnownStatus(s)).toBe(true);
    for (const s of ['invalid_status', 'Created', 'COMPLETED', '', 'toString', '__proto__', null, undefined, 3]) expect(isKnownStatus(s)).toBe(false);
  });

  it('isWritableStatus takes only the statuses we write', () => {
    for (const s of WRITABLE) expect(isWritableStatus(s)).toBe(true);
    for (const s of [...FOREIGN, 'invalid_status', 'toString']) expect(isWritableStatus(s)).toBe(false);
  });

  it('completed, failed and deleted are terminal', () => {
    expect(ALL.filter(isTerminal)).toEqual(['completed', 'failed', 'deleted']);
  });
});

describe('canBecome', () => {
  const pairs = ALL.flatMap((from) => ALL.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s', (from, to) => {
    expect(canBecome(from, to)).toBe(LEGAL.has(`${from}→${to}`));
  });

  it('never writes deleted', () => {
    for (const from of ALL) for (const to of FOREIGN) expect(canBecome(from, to)).toBe(false);
  });

  it('allows nothing from or to a status it does not know', () => {
    expect(canBecome('pending', 'failed')).toBe(false);
    expect(canBecome('created', 'pending')).toBe(false);
    expect(canBecome('toString', 'failed')).toBe(false);
  });
});

describe('statusesBefore (conditional writes: STEREO-SPOT-MAIN.md §5, drop-in column)', () => {
  it.each<[WritableStatus, string[]]>([
    // ingest's, once the source is uploaded: "write created only conditioned on ingesting".
    ['created', ['ingesting']],
    ['ingesting', ['created']],
    ['chunking_in_progress', ['created', 'chunking_in_progress']],
    ['chunking_complete', ['chunking_in_progress']],
    ['reassembling', ['chunking_complete']],
    ['completed', ['chunking_complete', 'reassembling']],
    // Not over completed or deleted (§5), nor over failed (marked once). ingesting is the
    // ingester's own failure; no ecba15e job is ever ingesting, so the ecba15e condition
    // (created, chunking_in_progress, chunking_complete, reassembling) holds the same jobs.
    ['failed', ['created', 'ingesting', 'chunking_in_progress', 'chunking_complete', 'reassembling']],
  ])('a write of %s is conditioned on %j', (to, from) => {
    expect(statusesBefore(to)).toEqual(from);
  });

  it('lists the previous statuses in lifecycle order, each one known', () => {
    for (const to of WRITABLE_STATUSES) {
      const from = statusesBefore(to);
      expect(from).toEqual(KNOWN_STATUSES.filter((s) => from.includes(s)));
    }
  });

  it('L15: nothing is ever written over deleted; nothing but failed→… never; completed never twice', () => {
    for (const to of WRITABLE_STATUSES) {
      expect(statusesBefore(to)).not.toContain('deleted');
      expect(statusesBefore(to)).not.toContain('failed');
    }
    expect(statusesBefore('completed')).not.toContain('completed');
    expect(Object.keys(STATUS_WRITES)).not.toContain('deleted');
  });

  it('hands out a copy: a caller cannot widen a condition for everyone', () => {
    statusesBefore('completed').push('deleted');
    expect(statusesBefore('completed')).toEqual(['chunking_complete', 'reassembling']);
  });
});

describe('who writes what, per topology', () => {
  it('ecba15e workers never write ingesting, created or reassembling (its web UI predates them)', () => {
    expect(WRITABLE_STATUSES.filter((s) => writesStatus('ecba15e', s))).toEqual(['chunking_in_progress', 'chunking_complete', 'completed', 'failed']);
  });

  it('b622b25 workers write every writable status', () => {
    expect(WRITABLE_STATUSES.filter((s) => writesStatus('b622b25', s))).toEqual(WRITABLE);
  });
});

describe('what each step does with the job it finds', () => {
  const table: Array<[status: string | null, chunk: string, segment: string, reassembly: string]> = [
    [null, 'retry', 'retry', 'retry'],
    ['created', 'start', 'process', 'retry'],
    ['ingesting', 'retry', 'process', 'retry'],
    ['chunking_in_progress', 'start', 'process', 'retry'],
    ['chunking_complete', 'done', 'process', 'start'],
    ['reassembling', 'done', 'skip', 'start'],
    ['completed', 'done', 'skip', 'done'],
    ['failed', 'skip', 'skip', 'skip'],
    ['deleted', 'skip', 'skip', 'skip'],
    ['invalid_status', 'skip', 'skip', 'skip'],
    ['', 'skip', 'skip', 'skip'],
  ];
  it.each(table)('%j: chunk %s, segment %s, reassembly %s', (status, chunk, segment, reassembly) => {
    expect(chunkDecision(status)).toBe(chunk);
    expect(segmentDecision(status)).toBe(segment);
    expect(reassemblyDecision(status)).toBe(reassembly);
  });

  it('covers every known status', () => {
    expect(table.map(([s]) => s).filter((s): s is string => isKnownStatus(s))).toEqual(ALL);
  });

  // Upstream chunking.py: a job not in created / chunking_in_progress is acked ("skip").
  it('chunks exactly where upstream chunks', () => {
    expect(ALL.filter((s) => chunkDecision(s) === 'start')).toEqual(['created', 'chunking_in_progress']);
  });

  it('a step that starts may write its next status', () => {
    for (const s of ALL) {
      if (chunkDecision(s) === 'start') expect(canBecome(s, 'chunking_in_progress')).toBe(true);
      if (reassemblyDecision(s) === 'start') expect(canBecome(s, 'completed')).toBe(true);
      if (ingestDecision(s) === 'start') expect(canBecome(s, 'ingesting')).toBe(true);
      if (ingestDecision(s) !== 'skip') {
        expect(canBecome('ingesting', 'created')).toBe(true);
        expect(canBecome('ingesting', 'failed')).toBe(true);
      }
    }
  });
});

describe('ingestDecision (b622b25 ingest queue)', () => {
  it.each<[string | null, string]>([
    ['created', 'start'],
    // L14: the redelivery of an ingest that died mid-download; upstream acks it and the job stays ingesting.
    ['ingesting', 'resume'],
    [null, 'skip'],
    ['chunking_in_progress', 'skip'],
    ['chunking_complete', 'skip'],
    ['reassembling', 'skip'],
    ['completed', 'skip'],
    ['failed', 'skip'],
    ['deleted', 'skip'],
    ['invalid_status', 'skip'],
  ])('%j: %s', (status, decision) => {
    expect(ingestDecision(status)).toBe(decision);
  });
});

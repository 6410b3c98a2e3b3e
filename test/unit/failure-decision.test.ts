// The one failure decision (src/domain/failure-decision.ts) as a table: every class × receive
// position × stopping, then what the outage budget and the role's record policy change.
// "ack+record" reads: the role records the job failed, then the message is acked.
import { describe, expect, it } from '@jest/globals';
import { decideFailure, type FailureFacts, type RecordsFailed } from '../../src/domain/failure-decision.js';
import { FAILURE_CLASSES, type FailureClass } from '../../src/domain/failure.js';

type Position = 'first' | 'middle' | 'last' | 'no DLQ';
const POSITIONS: Record<Position, Pick<FailureFacts, 'receiveCount' | 'maxReceiveCount'>> = {
  first: { receiveCount: 1, maxReceiveCount: 3 },
  middle: { receiveCount: 2, maxReceiveCount: 3 },
  last: { receiveCount: 3, maxReceiveCount: 3 },
  'no DLQ': { receiveCount: 7, maxReceiveCount: null },
};

function outcome(f: Partial<FailureFacts> & Pick<FailureFacts, 'failure'>, at: Position): string {
  const d = decideFailure({ stopping: false, outageBudgetLeft: true, records: 'last_receive', ...POSITIONS[at], ...f });
  return d.recordFailed ? `${d.message}+record` : d.message;
}

const row = (failure: FailureClass, f: Partial<FailureFacts> = {}): string[] => (Object.keys(POSITIONS) as Position[]).map((at) => outcome({ failure, ...f }, at));

describe('decideFailure: every class × receive position × stopping (a role recording its last receive, outage budget left)', () => {
  // first, middle, last, no DLQ
  const running: Record<FailureClass, string[]> = {
    bad_message: ['dead_letter', 'dead_letter', 'dead_letter', 'dead_letter'],
    bad_input: ['ack+record', 'ack+record', 'ack+record', 'ack+record'],
    outage: ['wait', 'wait', 'wait', 'wait'],
    transient: ['retry', 'retry', 'dead_letter+record', 'retry'],
    lease_lost: ['leave', 'leave', 'leave', 'leave'],
    superseded: ['ack', 'ack', 'ack', 'ack'],
    aborted: ['give_back', 'give_back', 'give_back', 'give_back'],
  };
  // Stopping changes only the outage: given back at once, never waited on, never the DLQ.
  const stopping: Record<FailureClass, string[]> = {
    ...running,
    outage: ['give_back', 'give_back', 'give_back', 'give_back'],
  };

  it('covers every class', () => {
    expect(Object.keys(running).sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it.each(FAILURE_CLASSES.map((c) => [c]))('%s, running', (failure) => {
    expect(row(failure, { stopping: false })).toEqual(running[failure]);
  });

  it.each(FAILURE_CLASSES.map((c) => [c]))('%s, stopping', (failure) => {
    expect(row(failure, { stopping: true })).toEqual(stopping[failure]);
  });
});

describe('decideFailure: the outage budget', () => {
  it('spent: an outage takes the transient path (retry, the DLQ and the record on the last receive); stopping still gives it back', () => {
    expect(row('outage', { outageBudgetLeft: false })).toEqual(['retry', 'retry', 'dead_letter+record', 'retry']);
    expect(row('outage', { outageBudgetLeft: false, stopping: true })).toEqual(['give_back', 'give_back', 'give_back', 'give_back']);
  });
});

describe('decideFailure: what the role records', () => {
  const policies: Record<RecordsFailed, Record<'bad_input' | 'transient' | 'outage', string[]>> = {
    last_receive: {
      bad_input: ['ack+record', 'ack+record', 'ack+record', 'ack+record'],
      transient: ['retry', 'retry', 'dead_letter+record', 'retry'],
      outage: ['retry', 'retry', 'dead_letter+record', 'retry'],
    },
    // chunk, reassemble: a job whose receives ran out stays where it stood (runbooks, reconciler).
    bad_input: {
      bad_input: ['ack+record', 'ack+record', 'ack+record', 'ack+record'],
      transient: ['retry', 'retry', 'dead_letter', 'retry'],
      outage: ['retry', 'retry', 'dead_letter', 'retry'],
    },
    // No job to record: a bad input is not acked unseen.
    none: {
      bad_input: ['dead_letter', 'dead_letter', 'dead_letter', 'dead_letter'],
      transient: ['retry', 'retry', 'dead_letter', 'retry'],
      outage: ['retry', 'retry', 'dead_letter', 'retry'],
    },
  };
  it.each(Object.keys(policies).map((p) => [p as RecordsFailed]))('records %s (outage budget spent)', (records) => {
    for (const failure of ['bad_input', 'transient', 'outage'] as const) {
      expect([failure, row(failure, { records, outageBudgetLeft: false })]).toEqual([failure, policies[records][failure]]);
    }
  });

  it('never records a failure that is not the job\'s, whatever the policy', () => {
    for (const records of ['none', 'bad_input', 'last_receive'] as const) {
      for (const failure of ['bad_message', 'lease_lost', 'superseded', 'aborted'] as const) {
        for (const stopping of [false, true]) {
          expect([records, failure, row(failure, { records, stopping }).some((o) => o.endsWith('+record'))]).toEqual([records, failure, false]);
        }
      }
    }
  });
});

// Seed 002 runbook 3 ("job stuck at chunking_complete") as one pure verdict: from what
// `jobs diagnose` read (the job, its completions, the lock, whether final.mp4 exists, the
// queues' depths), which step the job waits on or is stuck at, and the command that repairs
// it. Past chunking the trigger decision (trigger.ts) is the authority: what it would do
// (trigger, resend, reset, complete) is exactly what is missing; the queues tell "still
// coming" from "lost" and from "dead-lettered".
import type { StereoQueueName } from '../queue-names.js';
import type { ReassemblyLock, StereoJob } from './records.js';
import { DEFAULT_SEND_GRACE_SECONDS, triggerDecision } from './trigger.js';

/** A queue's depth (the Queue port's QueueDepth). */
export interface QueueCounts {
  readonly visible: number;
  readonly inflight: number;
  readonly dlq: number | null;
}

export interface DiagnoseFacts {
  job: StereoJob;
  /** SegmentCompletions of the job, every page (the count the trigger uses). */
  completions: number;
  lock: ReassemblyLock | null;
  finalExists: boolean;
  /** Depth of each stereo queue; null where the adapter cannot tell. */
  queues: Record<StereoQueueName, QueueCounts | null>;
  /** Segment objects of the job in the input bucket; null when not listed (chunking is past). */
  segmentObjects: number | null;
  /** Unix seconds. */
  now: number;
  staleSeconds: number;
  sendGraceSeconds?: number;
}

/** The pipeline step the verdict is about. */
export type DiagnoseStep = 'chunking' | 'inference' | 'trigger' | 'reassembly' | 'completion' | 'none';

export interface Diagnosis {
  step: DiagnoseStep;
  /** stuck: nothing will move the job without a repair; waiting: it is on its way; done: nothing to do. */
  state: 'stuck' | 'waiting' | 'done';
  /** One line: "<state> at <step>: why". */
  verdict: string;
  /** The repair, as a command line; null when there is none to run (wait, or nothing the commands can do). */
  next: string | null;
}

export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const { job, queues } = facts;
  const id = shellWord(job.jobId);
  switch (job.status) {
    case 'completed':
      return facts.finalExists
        ? done('none', 'the job is completed and final.mp4 exists')
        : done('none', 'the job is completed, but final.mp4 is not in the output bucket (deleted since?)');
    case 'failed': return done('none', 'the job failed; nothing moves a failed job (upload the source again as a new job)');
    case 'deleted': return done('none', 'the job is deleted');
    case 'ingesting': return waiting('chunking', 'the job is ingesting: its source is still being fetched');
    case 'created':
    case 'chunking_in_progress': return chunking(facts, id);
    case 'chunking_complete': return pastChunking(facts, id);
    case 'reassembling': return waiting('reassembly', `the job is reassembling (a newer deployment's trigger marked it); lock ${facts.lock === null ? 'none' : facts.lock.reassemblyStartedAt === null ? 'not taken' : 'taken'}, final.mp4 ${facts.finalExists ? 'exists' : 'not there yet'}`);
    default: return waiting('none', `the job's status is ${JSON.stringify(job.status)}, which this pipeline does not write; nothing to diagnose`);
  }

  function chunking(f: DiagnoseFacts, jobWord: string): Diagnosis {
    const q = queues.chunking;
    if (q && q.visible + q.inflight > 0) {
      return waiting('chunking', `the job is ${f.job.status} and the chunking queue holds ${counts(q)}${q.inflight === 0 ? ' (is the chunk role running?)' : ''}`);
    }
    if (f.segmentObjects !== null && f.segmentObjects > 0) {
      return stuck('chunking', `${f.segmentObjects} segment${plural(f.segmentObjects)} uploaded but the job is still ${f.job.status} and no chunking message is left: the chunker stopped before recording chunking_complete (runbook 1)`,
        `rugbyworker jobs recover-chunking ${jobWord}`);
    }
    if (q && (q.dlq ?? 0) > 0) {
      return stuck('chunking', `the job is ${f.job.status}, no segments, and the chunking DLQ holds ${q.dlq} message${plural(q.dlq ?? 0)} (this job's source event among them?)`, 'rugbyworker dlq inspect --queue chunking');
    }
    return f.job.status === 'created'
      ? waiting('chunking', 'the job is created with no chunking message and no segments: the source has not been uploaded yet (or its S3 notification never came)')
      : stuck('chunking', 'the job is chunking_in_progress with no chunking message, no dead letter and no segments: upload the source again', null);
  }

  function pastChunking(f: DiagnoseFacts, jobWord: string): Diagnosis {
    const total = f.job.totalSegments;
    if (f.job.mode === null || total === null || !Number.isInteger(total) || total < 1) {
      return stuck('chunking', `the job item is malformed (mode ${String(f.job.mode)}, total_segments ${String(total)}): no trigger takes it`, `rugbyworker jobs recover-chunking ${jobWord}`);
    }
    const grace = f.sendGraceSeconds ?? DEFAULT_SEND_GRACE_SECONDS;
    const decision = triggerDecision({ job: f.job, completions: f.completions, lock: f.lock, now: f.now, finalExists: f.finalExists, sendGraceSeconds: grace, staleSeconds: f.staleSeconds });
    const reassembly = queues.reassembly;
    switch (decision.action) {
      case 'complete':
        return stuck('completion', 'final.mp4 exists but the job is still chunking_complete: a reassembly died before its last write', 'rugbyworker --role trigger --once');
      case 'trigger':
        return stuck('trigger', `all ${total} segments are complete and no reassembly was ever triggered (lost-job 1)`, `rugbyworker jobs trigger-reassembly ${jobWord}`);
      case 'resend': {
        const ago = f.now - decision.triggeredAt;
        if (reassembly && reassembly.visible + reassembly.inflight > 0) {
          return waiting('reassembly', `triggered ${ago} s ago; the reassembly queue holds ${counts(reassembly)}${reassembly.inflight === 0 ? ' (is the reassemble role running?)' : ''}`);
        }
        if (reassembly && (reassembly.dlq ?? 0) > 0) {
          return stuck('reassembly', `triggered ${ago} s ago, never taken, and the reassembly DLQ holds ${reassembly.dlq} message${plural(reassembly.dlq ?? 0)}`, 'rugbyworker dlq inspect --queue reassembly');
        }
        return stuck('trigger', `the lock was put ${ago} s ago but no reassembly took it and no reassembly message is queued: the message was lost (lost-job 2)`, `rugbyworker jobs trigger-reassembly ${jobWord} --reset-lock`);
      }
      case 'reset':
        return stuck('reassembly', `a reassembly took the job and has not been heard of for ${f.now - decision.reassemblyStartedAt} s (stale after ${f.staleSeconds} s), leaving no final.mp4 (lost-job 3)`, `rugbyworker jobs trigger-reassembly ${jobWord} --reset-lock`);
      case 'none':
        break;
    }
    if (f.completions < total) return inference(f.completions, total);
    if (f.completions > total) return stuck('inference', `${f.completions} completions for ${total} segments: stale completions of an earlier chunking keep the trigger from firing (clear them and chunk again)`, null);
    if (f.lock?.reassemblyStartedAt === null) return waiting('reassembly', `triggered ${f.now - f.lock.triggeredAt} s ago; the reassembly message is not taken yet (a resend is due after ${grace} s)`);
    if (f.lock) return waiting('reassembly', `a reassembly is running (last heartbeat ${f.now - (f.lock.reassemblyStartedAt ?? f.now)} s ago)`);
    return waiting('none', decision.reason);
  }

  function inference(completions: number, total: number): Diagnosis {
    const q = queues['video-worker'];
    const so = `${completions} of ${total} segments complete`;
    if (q && q.visible + q.inflight > 0) return waiting('inference', `${so}; the video-worker queue holds ${counts(q)}${q.inflight === 0 ? ' (is segment-infer running?)' : ''}`);
    if (q && (q.dlq ?? 0) > 0) return stuck('inference', `${so}; the video-worker DLQ holds ${q.dlq} message${plural(q.dlq ?? 0)}`, 'rugbyworker dlq inspect --queue video-worker');
    return stuck('inference', `${so} and no segment message is queued or dead-lettered: the missing segments' events were lost (send their S3 events again, or chunk the source again)`, null);
  }
}

function stuck(step: DiagnoseStep, why: string, next: string | null): Diagnosis {
  return { step, state: 'stuck', verdict: `stuck at ${step}: ${why}`, next };
}

function waiting(step: DiagnoseStep, why: string): Diagnosis {
  return { step, state: 'waiting', verdict: step === 'none' ? `waiting: ${why}` : `waiting on ${step}: ${why}`, next: null };
}

function done(step: DiagnoseStep, why: string): Diagnosis {
  return { step, state: 'done', verdict: `done: ${why}`, next: null };
}

function counts(q: QueueCounts): string {
  return `${q.visible} visible, ${q.inflight} in flight`;
}

function plural(n: number): string {
  return n === 1 ? '' : 's';
}

/** A job id as one shell word (ids may hold "/", spaces, "+"): quoted unless it is plain. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

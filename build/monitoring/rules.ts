// deploy/prometheus/: recording rules (what panels and alerts would otherwise repeat) and
// alert rules, each with its promtool unit cases (one that fires, at least one that stays
// silent) and the sub-expressions (`parts`) a healthy, freshly scraped fleet must return
// series for: test/e2e/monitoring.test.ts evaluates every part on a real Prometheus, since
// an alert expression itself is rightly empty while all is well.
import { JOB, M, STANDARD } from './names.js';

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface InputSeries {
  series: string;
  /** promtool's expanding notation, one value a minute: '0 0 1x10', '5+1x60'. */
  values: string;
}

export interface AlertCase {
  /** What the case shows, for the unit test file. */
  name: string;
  input: InputSeries[];
  /** Minutes after the first sample. */
  atMinutes: number;
  /** The labels of each alert firing then (severity added); none: the alert is silent. */
  firing: Array<Record<string, string>>;
}

export interface AlertRule {
  alert: string;
  /** Sub-expressions of `expr`, each returning series on a healthy fleet. */
  parts: string[];
  expr: string;
  for: string;
  severity: 'critical' | 'warning';
  /** `{{ $labels.NAME }}` is the only template used, so the unit cases can spell out the text. */
  summary: string;
  description: string;
  /** The README heading (GitHub anchor) that says what to do. */
  runbook: string;
  cases: AlertCase[];
}

/** Where runbook_url points: the README as the operator reads it; `npm run deploy:monitoring -- --readme-url URL` fills it in. */
export const README_URL_PLACEHOLDER = '<README_URL>';

const c = M.consumer;
const sum = (by: string, e: string): string => `sum by (${by}) (${e})`;

// Recording rules: name level:metric:operation (Prometheus's convention).
export const REC = {
  received: 'instance_role:rugbyworker_messages_received:rate5m',
  succeeded: 'instance_role:rugbyworker_jobs_succeeded:rate5m',
  failed: 'instance_role:rugbyworker_jobs_failed:rate5m',
  durationBuckets: 'role_le:rugbyworker_job_duration_seconds_bucket:rate5m',
  queueLagBuckets: 'role_le:rugbyworker_queue_lag_seconds_bucket:rate5m',
  queueDepth: 'role_queue_state:rugbyworker_queue_messages:max',
  timeToReadyBuckets: 'le:rugbyworker_transcode_time_to_ready_seconds_bucket:rate1h',
  phaseBuckets: 'phase_le:rugbyworker_transcode_phase_seconds_bucket:rate1h',
  inferenceBuckets: 'backend_le:rugbyworker_inference_seconds_bucket:rate5m',
} as const;

export const RECORDING_RULES: RecordingRule[] = [
  { record: REC.received, expr: sum('instance, role', `rate(${c.received}[5m])`) },
  { record: REC.succeeded, expr: sum('instance, role', `rate(${c.succeeded}[5m])`) },
  { record: REC.failed, expr: sum('instance, role', `rate(${c.failed}[5m])`) },
  // Succeeded jobs only: a failure's or a lost lease's duration says little about the work.
  { record: REC.durationBuckets, expr: sum('role, le', `rate(${c.duration}_bucket{outcome="succeeded"}[5m])`) },
  { record: REC.queueLagBuckets, expr: sum('role, le', `rate(${c.queueLag}_bucket[5m])`) },
  // Every worker of a queue reports the same depth: the largest is the freshest.
  { record: REC.queueDepth, expr: `max by (role, queue, state) (${M.queueMessages})` },
  // Transcodes are few an hour: an hour's window keeps the percentiles meaningful.
  { record: REC.timeToReadyBuckets, expr: sum('le', `rate(${M.transcode.timeToReady}_bucket[1h])`) },
  { record: REC.phaseBuckets, expr: sum('phase, le', `rate(${M.transcode.phase}_bucket[1h])`) },
  { record: REC.inferenceBuckets, expr: sum('backend, le', `rate(${M.stereo.inferenceSeconds}_bucket[5m])`) },
];

/** Thresholds an operator may want to change (README "Alerts" says what each means). */
export const THRESHOLDS = {
  /** Minutes a role may have messages waiting with no job succeeding (longer than the longest transcode a queue holds). */
  notDrainingMinutes: 30,
  /** WORK_DIR's free share under which a job may not fit (a match needs twice its size). */
  workDirFreeRatio: 0.1,
  /** Time to ready p95 over an hour above this many seconds. */
  timeToReadySeconds: 3600,
  /** Restarts an hour that make a crash loop. */
  restartsPerHour: 3,
} as const;

const W = { instance: 'jetson-1:9464', job: JOB };
/** An input series with the scrape's labels: `metric{labels}`. */
const series = (metric: string, labels: Record<string, string>, values: string): InputSeries => ({
  series: `${metric}{${Object.entries({ ...labels, ...W }).map(([k, v]) => `${k}="${v}"`).join(',')}}`,
  values,
});

const deadLettered = sum('role', `increase(${c.deadLettered}[1h])`);
const dlqDepth = `${REC.queueDepth}{state="dead_letter"}`;
const waiting = `${REC.queueDepth}{state="visible"}`;
const succeededRecently = sum('role', `increase(${c.succeeded}[${THRESHOLDS.notDrainingMinutes}m])`);
const leaseLost = sum('instance, role', `increase(${c.leaseLost}[15m])`);
const dependencyUp = `min by (instance, dependency) (${M.dependencyUp})`;
const up = `${STANDARD.up}{job="${JOB}"}`;
const degraded = `max by (instance, stage) (${M.hardware.degraded})`;
const freeRatio = `${M.workdir.free} / ${M.workdir.size}`;
const timeToReadyP95 = `histogram_quantile(0.95, ${REC.timeToReadyBuckets})`;
const restarts = `changes(${STANDARD.startTime}{job="${JOB}"}[1h])`;

export const ALERT_RULES: AlertRule[] = [
  {
    alert: 'RugbyworkerDeadLetters',
    parts: [deadLettered],
    expr: `${deadLettered} > 0`,
    for: '0m',
    severity: 'warning',
    summary: '{{ $labels.role }}: messages dead-lettered in the last hour',
    description: 'The {{ $labels.role }} role sent messages to its dead-letter queue (an invalid message, a permanent failure, or the last retry failed). They wait there until replayed or purged.',
    runbook: 'rugbyworkerdeadletters',
    cases: [
      { name: 'a dead letter fires', input: [series(c.deadLettered, { role: 'transcode' }, '0 0 1 1 1 1')], atMinutes: 5, firing: [{ role: 'transcode' }] },
      { name: 'none: silent', input: [series(c.deadLettered, { role: 'transcode' }, '0x10')], atMinutes: 10, firing: [] },
      { name: 'an hour later: silent again', input: [series(c.deadLettered, { role: 'chunk' }, '0 1x80')], atMinutes: 80, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerDeadLetterQueueNotEmpty',
    parts: [dlqDepth],
    expr: `${dlqDepth} > 0`,
    for: '10m',
    severity: 'warning',
    summary: '{{ $labels.queue }}: letters waiting in the dead-letter queue',
    description: 'The dead-letter queue of {{ $labels.queue }} ({{ $labels.role }}) has held messages for 10 minutes. Each is a job that will not run until it is replayed.',
    runbook: 'rugbyworkerdeadletterqueuenotempty',
    cases: [
      { name: 'letters for 10 minutes fire', input: [series(M.queueMessages, { role: 'transcode', queue: 'transcode', state: 'dead_letter' }, '2x20')], atMinutes: 15, firing: [{ role: 'transcode', queue: 'transcode', state: 'dead_letter' }] },
      { name: 'for 5 minutes: not yet', input: [series(M.queueMessages, { role: 'transcode', queue: 'transcode', state: 'dead_letter' }, '0x10 2x5')], atMinutes: 15, firing: [] },
      { name: 'an empty DLQ is silent', input: [series(M.queueMessages, { role: 'transcode', queue: 'transcode', state: 'dead_letter' }, '0x20')], atMinutes: 15, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerQueueNotDraining',
    parts: [waiting, succeededRecently],
    expr: `max by (role) (${waiting}) > 0 and on (role) ${succeededRecently} == 0`,
    for: `${THRESHOLDS.notDrainingMinutes}m`,
    severity: 'critical',
    summary: `{{ $labels.role }}: messages waiting, no job succeeded for ${THRESHOLDS.notDrainingMinutes} minutes`,
    description: `The {{ $labels.role }} queue has had messages waiting for ${THRESHOLDS.notDrainingMinutes} minutes and none of its jobs succeeded in that time: no worker takes them, or every job fails.`,
    runbook: 'rugbyworkerqueuenotdraining',
    cases: [
      {
        name: 'waiting, nothing succeeds: fires',
        input: [series(M.queueMessages, { role: 'transcode', queue: 'transcode', state: 'visible' }, '3x60'), series(c.succeeded, { role: 'transcode' }, '5x60')],
        atMinutes: 40, firing: [{ role: 'transcode' }],
      },
      {
        name: 'waiting, one success every 10 minutes: silent',
        input: [series(M.queueMessages, { role: 'transcode', queue: 'transcode', state: 'visible' }, '3x60'), series(c.succeeded, { role: 'transcode' }, '5x9 6x9 7x9 8x9 9x9 10x9')],
        atMinutes: 50, firing: [],
      },
      {
        name: 'an idle role (nothing waiting, nothing succeeding): silent',
        input: [series(M.queueMessages, { role: 'chunk', queue: 'chunking', state: 'visible' }, '0x60'), series(c.succeeded, { role: 'chunk' }, '0x60')],
        atMinutes: 50, firing: [],
      },
    ],
  },
  {
    alert: 'RugbyworkerLeaseLost',
    parts: [leaseLost],
    expr: `${leaseLost} > 0`,
    for: '0m',
    severity: 'warning',
    summary: '{{ $labels.instance }}: {{ $labels.role }} lost the lease of a job',
    description: 'A job of {{ $labels.role }} on {{ $labels.instance }} was abandoned because its message became visible to other workers (extensions failed until the lease ran out, or the message was taken): the job runs again elsewhere.',
    runbook: 'rugbyworkerleaselost',
    cases: [
      { name: 'a lost lease fires', input: [series(c.leaseLost, { role: 'transcode' }, '0 0 1 1')], atMinutes: 3, firing: [{ instance: W.instance, role: 'transcode' }] },
      { name: 'none: silent', input: [series(c.leaseLost, { role: 'transcode' }, '0x20')], atMinutes: 20, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerDependencyDown',
    parts: [dependencyUp],
    expr: `${dependencyUp} == 0`,
    for: '5m',
    severity: 'critical',
    summary: '{{ $labels.instance }}: {{ $labels.dependency }} unreachable for 5 minutes',
    description: '{{ $labels.instance }} cannot reach {{ $labels.dependency }} (or it refuses the credentials): /health says 503 naming it, and jobs that need it wait.',
    runbook: 'rugbyworkerdependencydown',
    cases: [
      { name: 'down 6 minutes fires', input: [series(M.dependencyUp, { dependency: 'supabase' }, '1 1 0x10')], atMinutes: 8, firing: [{ instance: W.instance, dependency: 'supabase' }] },
      { name: 'down 3 minutes: not yet', input: [series(M.dependencyUp, { dependency: 'supabase' }, '1 1 0x10')], atMinutes: 5, firing: [] },
      { name: 'up: silent', input: [series(M.dependencyUp, { dependency: 's3' }, '1x15')], atMinutes: 15, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerInstanceDown',
    parts: [up],
    expr: `${up} == 0`,
    for: '2m',
    severity: 'critical',
    summary: '{{ $labels.instance }} stopped answering /metrics',
    description: 'Prometheus has not scraped {{ $labels.instance }} for 2 minutes: the worker is stopped, crashed, or its HEALTH_PORT is unreachable.',
    runbook: 'rugbyworkerinstancedown',
    cases: [
      { name: 'down 3 minutes fires', input: [{ series: `${STANDARD.up}{instance="${W.instance}",job="${JOB}"}`, values: '1 1 0 0 0 0' }], atMinutes: 5, firing: [{ instance: W.instance, job: JOB }] },
      { name: 'up: silent', input: [{ series: `${STANDARD.up}{instance="${W.instance}",job="${JOB}"}`, values: '1x10' }], atMinutes: 10, firing: [] },
      { name: 'another job down: not ours', input: [{ series: `${STANDARD.up}{instance="node:9100",job="node"}`, values: '0x10' }], atMinutes: 10, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerHardwareDegraded',
    parts: [degraded],
    expr: `${degraded} > 0`,
    for: '5m',
    severity: 'warning',
    summary: '{{ $labels.instance }}: hardware {{ $labels.stage }} fell back to software',
    description: '{{ $labels.instance }} has the hardware but {{ $labels.stage }}s in software (its test failed at start-up, or it failed a job): transcodes are slower and the device row says degraded.',
    runbook: 'rugbyworkerhardwaredegraded',
    cases: [
      { name: 'software decode fires', input: [series(M.hardware.degraded, { stage: 'decode' }, '0 0 1x10')], atMinutes: 10, firing: [{ instance: W.instance, stage: 'decode' }] },
      { name: 'hardware working: silent', input: [series(M.hardware.degraded, { stage: 'encode' }, '0x10')], atMinutes: 10, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerWorkDirNearlyFull',
    parts: [freeRatio],
    expr: `${freeRatio} < ${THRESHOLDS.workDirFreeRatio}`,
    for: '5m',
    severity: 'warning',
    summary: `{{ $labels.instance }}: WORK_DIR under ${THRESHOLDS.workDirFreeRatio * 100} % free`,
    description: `The file system of WORK_DIR on {{ $labels.instance }} is over ${100 - THRESHOLDS.workDirFreeRatio * 100} % full: a long match (it needs about twice its size) will be released for lack of room.`,
    runbook: 'rugbyworkerworkdirnearlyfull',
    cases: [
      { name: '6 % free fires', input: [series(M.workdir.free, {}, '1000000000x10'), series(M.workdir.size, {}, '16000000000x10')], atMinutes: 10, firing: [W] },
      { name: '50 % free: silent', input: [series(M.workdir.free, {}, '8000000000x10'), series(M.workdir.size, {}, '16000000000x10')], atMinutes: 10, firing: [] },
    ],
  },
  {
    alert: 'RugbyworkerTimeToReadySlow',
    parts: [timeToReadyP95],
    expr: `${timeToReadyP95} > ${THRESHOLDS.timeToReadySeconds}`,
    for: '0m',
    severity: 'warning',
    summary: `Transcodes: time to ready p95 over ${THRESHOLDS.timeToReadySeconds / 60} minutes`,
    description: `More than 5 % of the uploads made ready in the last hour waited over ${THRESHOLDS.timeToReadySeconds / 60} minutes from the upload's message to the asset ready (a backlog, a slow worker, or a fallback to software).`,
    runbook: 'rugbyworkertimetoreadyslow',
    cases: [
      {
        name: 'every job over an hour fires',
        input: [['1800', '0x70'], ['3600', '0x70'], ['7200', '0+1x70'], ['+Inf', '0+1x70']].map(([le, v]) => series(`${M.transcode.timeToReady}_bucket`, { le: le! }, v!)),
        atMinutes: 70, firing: [{}],
      },
      {
        name: 'every job under half an hour: silent',
        input: [['1800', '0+1x70'], ['3600', '0+1x70'], ['7200', '0+1x70'], ['+Inf', '0+1x70']].map(([le, v]) => series(`${M.transcode.timeToReady}_bucket`, { le: le! }, v!)),
        atMinutes: 70, firing: [],
      },
    ],
  },
  {
    alert: 'RugbyworkerRestarting',
    parts: [restarts],
    expr: `${restarts} > ${THRESHOLDS.restartsPerHour}`,
    for: '0m',
    severity: 'warning',
    summary: `{{ $labels.instance }} restarted more than ${THRESHOLDS.restartsPerHour} times in an hour`,
    description: 'The worker on {{ $labels.instance }} keeps starting again (killed for memory, crashing, or failing to start), so jobs are interrupted and run again.',
    runbook: 'rugbyworkerrestarting',
    cases: [
      { name: 'a new start every minute fires', input: [series(STANDARD.startTime, {}, '100+60x6')], atMinutes: 6, firing: [W] },
      { name: 'one process: silent', input: [series(STANDARD.startTime, {}, '100x60')], atMinutes: 60, firing: [] },
    ],
  },
];

/** `{{ $labels.NAME }}` filled in from `labels` (what Prometheus renders for these annotations). */
export function renderTemplate(text: string, labels: Record<string, string>): string {
  const out = text.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, name: string) => labels[name] ?? '');
  if (out.includes('{{')) throw new Error(`unsupported template in ${JSON.stringify(text)}`);
  return out;
}

function annotations(a: AlertRule, readmeUrl: string, labels: Record<string, string>): Record<string, string> {
  return { summary: renderTemplate(a.summary, labels), description: renderTemplate(a.description, labels), runbook_url: `${readmeUrl}#${a.runbook}` };
}

/** The rule file: one group of recording rules, one of alerts. */
export function rulesFile(readmeUrl: string = README_URL_PLACEHOLDER): object {
  return {
    groups: [
      { name: 'rugbyworker.recording', rules: RECORDING_RULES.map((r) => ({ record: r.record, expr: r.expr })) },
      {
        name: 'rugbyworker.alerts',
        rules: ALERT_RULES.map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: a.for,
          labels: { severity: a.severity },
          annotations: { summary: a.summary, description: a.description, runbook_url: `${readmeUrl}#${a.runbook}` },
        })),
      },
    ],
  };
}

/** promtool test rules: every case of every alert, one test each. */
export function rulesTestFile(ruleFile: string, readmeUrl: string = README_URL_PLACEHOLDER): object {
  return {
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: ALERT_RULES.flatMap((a) => a.cases.map((k) => ({
      name: `${a.alert}: ${k.name}`,
      interval: '1m',
      input_series: k.input,
      alert_rule_test: [{
        eval_time: `${k.atMinutes}m`,
        alertname: a.alert,
        exp_alerts: k.firing.map((labels) => ({
          exp_labels: { severity: a.severity, ...labels },
          exp_annotations: annotations(a, readmeUrl, labels),
        })),
      }],
    }))),
  };
}

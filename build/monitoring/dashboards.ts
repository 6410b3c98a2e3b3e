// deploy/grafana/: the fleet dashboard and the stereo pipeline's, described here as panels and
// their PromQL (metric names from names.ts, recording rules from rules.ts) and built with
// Grafana's own foundation SDK. Every panel's every query returns series on a live worker
// (test/e2e/monitoring.test.ts runs them on a real Prometheus scraping the executable).
import { DashboardBuilder, DatasourceVariableBuilder, MappingType, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort, type Panel, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as StateTimelineBuilder } from '@grafana/grafana-foundation-sdk/statetimeline';
import { LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import { JOB, M, STANDARD } from './names.js';
import { REC } from './rules.js';

export interface Target {
  expr: string;
  legend: string;
  /** One value per series at the end of the range, shown as a table. */
  instant?: boolean;
}

export interface PanelSpec {
  title: string;
  description: string;
  kind: 'timeseries' | 'table' | 'statetimeline';
  unit: string;
  targets: Target[];
  /** Grid columns of 24 (default 8). */
  width?: number;
  /** value → [text, colour], for state timelines. */
  mappings?: Record<string, [string, string]>;
}

export interface VariableSpec {
  name: string;
  label: string;
  /** `label_values(selector, label)`: the selector may use earlier variables. */
  selector: string;
  labelName: string;
}

export interface DashboardSpec {
  uid: string;
  /** File name under deploy/grafana/. */
  file: string;
  title: string;
  description: string;
  variables: VariableSpec[];
  rows: Array<{ title: string; panels: PanelSpec[] }>;
}

/** The stereo pipeline's queue-fed roles (trigger reconciles from the tables). */
export const STEREO_ROLES = ['chunk', 'segment-infer', 'reassemble'] as const;

const c = M.consumer;
const byRole = 'role=~"$role",instance=~"$instance"';
const byInstance = 'instance=~"$instance"';
const ourJob = `job="${JOB}",${byInstance}`;
const perMinute = (e: string): string => `60 * ${e}`;
const q = (quantile: number, buckets: string): string => `histogram_quantile(${quantile}, ${buckets})`;

const UP_MAPPING: Record<string, [string, string]> = { 1: ['up', 'green'], 0: ['down', 'red'] };

const fleet: DashboardSpec = {
  uid: 'rugbyworker-fleet',
  file: 'rugbyworker-fleet.json',
  title: 'rugbyworker: fleet',
  description: 'Every rugbyworker role and instance: jobs, queues, leases, dependencies, time to ready, hardware, resources. Needs the recording rules of deploy/prometheus/rugbyworker.rules.yml and the scrape job named rugbyworker.',
  variables: [
    { name: 'role', label: 'Role', selector: M.roleInfo, labelName: 'role' },
    { name: 'instance', label: 'Instance', selector: `${M.roleInfo}{role=~"$role"}`, labelName: 'instance' },
  ],
  rows: [
    {
      title: 'Jobs',
      panels: [
        {
          title: 'Jobs started', kind: 'timeseries', unit: 'short',
          description: 'Messages received per minute, by role (each receive starts a job, redeliveries included).',
          targets: [{ expr: perMinute(`sum by (role) (${REC.received}{${byRole}})`), legend: '{{role}}' }],
        },
        {
          title: 'Jobs succeeded', kind: 'timeseries', unit: 'short',
          description: 'Jobs completed and acked per minute, by role.',
          targets: [{ expr: perMinute(`sum by (role) (${REC.succeeded}{${byRole}})`), legend: '{{role}}' }],
        },
        {
          title: 'Jobs failed and retried', kind: 'timeseries', unit: 'short',
          description: 'Jobs whose handler failed per minute, by role, and how many of them were released for another try.',
          targets: [
            { expr: perMinute(`sum by (role) (${REC.failed}{${byRole}})`), legend: '{{role}} failed' },
            { expr: perMinute(`sum by (role) (rate(${c.retried}{${byRole}}[$__rate_interval]))`), legend: '{{role}} retried' },
          ],
        },
        {
          title: 'Dead-lettered and discarded (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Messages sent to the dead-letter queue in the last hour (invalid, permanent failure, retries spent), and those deleted on a queue that has no DLQ.',
          targets: [
            { expr: `sum by (role) (increase(${c.deadLettered}{${byRole}}[1h]))`, legend: '{{role}} dead-lettered' },
            { expr: `sum by (role) (increase(${c.discarded}{${byRole}}[1h]))`, legend: '{{role}} discarded' },
          ],
        },
        {
          title: 'Job duration (succeeded)', kind: 'timeseries', unit: 's', width: 16,
          description: 'p50, p95 and p99 of the time from receive to ack of the jobs that succeeded, by role.',
          targets: [0.5, 0.95, 0.99].map((p) => ({ expr: q(p, `${REC.durationBuckets}{role=~"$role"}`), legend: `{{role}} p${Math.round(p * 100)}` })),
        },
      ],
    },
    {
      title: 'Queues',
      panels: [
        {
          title: 'Messages waiting and in flight', kind: 'timeseries', unit: 'short',
          description: 'Each queue as SQS (or Redis) reports it: visible messages waiting for a worker, and messages received and not yet settled. Waiting that only grows means the fleet is short of workers.',
          targets: [{ expr: `${REC.queueDepth}{role=~"$role",state=~"visible|in_flight"}`, legend: '{{role}} {{state}}' }],
        },
        {
          title: 'Dead-letter queue depth', kind: 'timeseries', unit: 'short',
          description: 'Messages in each dead-letter queue: jobs that will not run until replayed (rugbyworker dlq inspect / replay).',
          targets: [{ expr: `${REC.queueDepth}{role=~"$role",state="dead_letter"}`, legend: '{{queue}}' }],
        },
        {
          title: 'Queue lag', kind: 'timeseries', unit: 's',
          description: 'p50 and p95 of how long a message waited in the queue before its first receive, by role.',
          targets: [0.5, 0.95].map((p) => ({ expr: q(p, `${REC.queueLagBuckets}{role=~"$role"}`), legend: `{{role}} p${Math.round(p * 100)}` })),
        },
        {
          title: 'In flight and concurrency', kind: 'timeseries', unit: 'short', width: 24,
          description: 'Jobs being worked on, by role, against how many the instances of the role take at once (CONCURRENCY): in flight at the limit with messages waiting means more workers would help.',
          targets: [
            { expr: `sum by (role) (${c.inFlight}{${byRole}})`, legend: '{{role}} in flight' },
            { expr: `sum by (role) (${c.concurrency}{${byRole}})`, legend: '{{role}} concurrency' },
          ],
        },
      ],
    },
    {
      title: 'Leases, outages and dependencies',
      panels: [
        {
          title: 'Lease extensions', kind: 'timeseries', unit: 'short',
          description: 'Lease (visibility) extensions per minute that the queue granted to jobs in flight, by role: a long job keeps its message this way.',
          targets: [{ expr: perMinute(`sum by (role) (rate(${c.heartbeatExtensions}{${byRole}}[$__rate_interval]))`), legend: '{{role}}' }],
        },
        {
          title: 'Leases lost (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Jobs abandoned in the last hour because their lease ran out or their message was taken: the job runs again elsewhere.',
          targets: [{ expr: `sum by (role, instance) (increase(${c.leaseLost}{${byRole}}[1h]))`, legend: '{{role}} {{instance}}' }],
        },
        {
          title: 'Outage waits', kind: 'timeseries', unit: 'short',
          description: 'Tries per minute of jobs that failed on an unreachable service and were run again with the message kept, by role.',
          targets: [{ expr: perMinute(`sum by (role) (rate(${c.outageWaits}{${byRole}}[$__rate_interval]))`), legend: '{{role}}' }],
        },
        {
          title: 'Dependencies', kind: 'statetimeline', unit: 'short', width: 24, mappings: UP_MAPPING,
          description: 'Each service every instance calls (SQS, Redis, S3/Wasabi, Supabase, DynamoDB, inference): up while it answers, down while it is unreachable or refuses the credentials (what /health names).',
          targets: [{ expr: `min by (instance, dependency) (${M.dependencyUp}{${byInstance}})`, legend: '{{instance}} {{dependency}}' }],
        },
      ],
    },
    {
      title: 'Transcode: time to ready',
      panels: [
        {
          title: 'Time to ready', kind: 'timeseries', unit: 's',
          description: 'What a coach waits on: from the transcode message to the asset ready, p50 and p95 over the last hour.',
          targets: [0.5, 0.95].map((p) => ({ expr: q(p, REC.timeToReadyBuckets), legend: `p${Math.round(p * 100)}` })),
        },
        {
          title: 'Time to ready by phase (p95)', kind: 'timeseries', unit: 's',
          description: 'p95 over the last hour of each phase: queued (send to start of work), download, encode (FFmpeg, every try), upload (after FFmpeg ended), finish (the rows). Download, encode and upload overlap.',
          targets: [{ expr: q(0.95, REC.phaseBuckets), legend: '{{phase}}' }],
        },
        {
          title: 'Transcode messages sent again (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Messages the reconciler sent again: jobs still queued (their message lost) or running with their worker gone.',
          targets: [{ expr: `sum by (reason) (increase(${M.requeued}{${byInstance}}[1h]))`, legend: '{{reason}}' }],
        },
      ],
    },
    {
      title: 'Instances',
      panels: [
        {
          title: 'Scraped', kind: 'statetimeline', unit: 'short', width: 24, mappings: UP_MAPPING,
          description: 'Whether Prometheus reaches each instance\'s /metrics.',
          targets: [{ expr: `${STANDARD.up}{${ourJob}}`, legend: '{{instance}}' }],
        },
        {
          title: 'Hardware verdict', kind: 'table', unit: 'short', width: 12,
          description: 'What each transcode worker decodes and encodes with, as decided at start-up (jetson, nvidia or software decode; libx264 or a hardware encoder).',
          targets: [{ expr: `max by (instance, stage, method) (${M.hardware.info}{${byInstance}})`, legend: '{{instance}} {{stage}} {{method}}', instant: true }],
        },
        {
          title: 'Hardware fallback', kind: 'statetimeline', unit: 'short', width: 12, mappings: { 0: ['hardware', 'green'], 1: ['software fallback', 'orange'] },
          description: 'Decode or encode running in software on a machine whose hardware failed its test or a job (the device row says degraded).',
          targets: [{ expr: `max by (instance, stage) (${M.hardware.degraded}{${byInstance}})`, legend: '{{instance}} {{stage}}' }],
        },
        {
          title: 'WORK_DIR free', kind: 'timeseries', unit: 'percentunit',
          description: 'Free share of the file system holding WORK_DIR: a transcode needs about twice the upload\'s size.',
          targets: [{ expr: `${M.workdir.free}{${byInstance}} / ${M.workdir.size}{${byInstance}}`, legend: '{{instance}}' }],
        },
        {
          title: 'WORK_DIR free bytes', kind: 'timeseries', unit: 'bytes',
          description: 'Bytes free for the worker on the file system holding WORK_DIR.',
          targets: [{ expr: `${M.workdir.free}{${byInstance}}`, legend: '{{instance}}' }],
        },
        {
          title: 'Memory', kind: 'timeseries', unit: 'bytes',
          description: 'Resident memory and V8 heap in use of each worker process (FFmpeg runs in its own processes).',
          targets: [
            { expr: `${STANDARD.residentMemory}{${ourJob}}`, legend: '{{instance}} resident' },
            { expr: `${STANDARD.heapUsed}{${ourJob}}`, legend: '{{instance}} heap' },
          ],
        },
        {
          title: 'CPU', kind: 'timeseries', unit: 'percentunit',
          description: 'CPU used by each worker process, in cores (1 = 100 % of one core); FFmpeg\'s own CPU is not in it.',
          targets: [{ expr: `rate(${STANDARD.cpuSeconds}{${ourJob}}[$__rate_interval])`, legend: '{{instance}}' }],
        },
        {
          title: 'Event loop lag (p99)', kind: 'timeseries', unit: 's',
          description: 'How late the worker\'s event loop runs: high values delay heartbeats and uploads.',
          targets: [{ expr: `${STANDARD.eventLoopLagP99}{${ourJob}}`, legend: '{{instance}}' }],
        },
        {
          title: 'Roles and versions', kind: 'table', unit: 'short', width: 24,
          description: 'Which roles each instance runs, and its version.',
          targets: [{ expr: `${M.roleInfo}{${byRole}}`, legend: '{{instance}} {{role}} {{version}}', instant: true }],
        },
      ],
    },
    {
      title: 'Cleanup',
      panels: [
        {
          title: 'Cleanup jobs (last hour)', kind: 'timeseries', unit: 'short',
          description: 'media_cleanup_jobs rows processed or left failed, and coach-audio deletions done or failed, in the last hour.',
          targets: [
            { expr: `sum(increase(${M.cleanup.jobsCompleted}{${byInstance}}[1h]))`, legend: 'completed' },
            { expr: `sum(increase(${M.cleanup.jobsFailed}{${byInstance}}[1h]))`, legend: 'failed' },
            { expr: `sum(increase(${M.cleanup.coachAudioDeleted}{${byInstance}}[1h]))`, legend: 'coach audio deleted' },
            { expr: `sum(increase(${M.cleanup.coachAudioFailed}{${byInstance}}[1h]))`, legend: 'coach audio failed' },
          ],
        },
        {
          title: 'Objects deleted (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Objects the cleanup role deleted from the media buckets in the last hour.',
          targets: [{ expr: `sum(increase(${M.cleanup.objectsDeleted}{${byInstance}}[1h]))`, legend: 'objects' }],
        },
        {
          title: 'Bytes deleted (last hour)', kind: 'timeseries', unit: 'bytes',
          description: 'Bytes of the objects the cleanup role deleted in the last hour.',
          targets: [{ expr: `sum(increase(${M.cleanup.bytesDeleted}{${byInstance}}[1h]))`, legend: 'bytes' }],
        },
      ],
    },
  ],
};

const stereoRoles = STEREO_ROLES.join('|');
const stereo: DashboardSpec = {
  uid: 'rugbyworker-stereo',
  file: 'rugbyworker-stereo.json',
  title: 'rugbyworker: stereo pipeline',
  description: 'The stereo pipeline: chunk → segment-infer → reassemble. Needs the recording rules of deploy/prometheus/rugbyworker.rules.yml.',
  variables: [
    { name: 'instance', label: 'Instance', selector: `${M.roleInfo}{role=~"${stereoRoles}|trigger"}`, labelName: 'instance' },
  ],
  rows: [
    {
      title: 'Segments',
      panels: [
        {
          title: 'Segments per job', kind: 'timeseries', unit: 'short',
          description: 'Segments chunk made per job it chunked, over the last hour.',
          targets: [{
            expr: `sum(increase(${M.stereo.segments}{role="chunk",${byInstance}}[1h])) / sum(increase(${M.stereo.jobs}{role="chunk",outcome="chunked",${byInstance}}[1h]))`,
            legend: 'segments per job',
          }],
        },
        {
          title: 'Segments made, converted and joined', kind: 'timeseries', unit: 'short',
          description: 'Segments per minute: made by chunk, converted by segment-infer, joined by reassemble.',
          targets: [{ expr: perMinute(`sum by (role) (rate(${M.stereo.segments}{${byInstance}}[$__rate_interval]))`), legend: '{{role}}' }],
        },
        {
          title: 'Inference seconds per segment', kind: 'timeseries', unit: 's',
          description: 'p50, p95 and p99 of the inference time of a segment, by backend (stub, ffmpeg, sagemaker, http).',
          targets: [0.5, 0.95, 0.99].map((p) => ({ expr: q(p, REC.inferenceBuckets), legend: `{{backend}} p${Math.round(p * 100)}` })),
        },
      ],
    },
    {
      title: 'Jobs',
      panels: [
        {
          title: 'Reassemblies (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Jobs reassembly completed (final.mp4 written) or failed in the last hour.',
          targets: [{ expr: `sum by (outcome) (increase(${M.stereo.jobs}{role="reassemble",${byInstance}}[1h]))`, legend: '{{outcome}}' }],
        },
        {
          title: 'Stereo jobs by role and outcome (last hour)', kind: 'timeseries', unit: 'short',
          description: 'Jobs chunked or failed by chunk, failed by segment-infer, completed or failed by reassemble, in the last hour.',
          targets: [{ expr: `sum by (role, outcome) (increase(${M.stereo.jobs}{${byInstance}}[1h]))`, legend: '{{role}} {{outcome}}' }],
        },
        {
          title: 'Step duration (p95)', kind: 'timeseries', unit: 's',
          description: 'p95 of a succeeded job of each step: chunking a source, converting a segment, reassembling a job.',
          targets: [{ expr: q(0.95, `${REC.durationBuckets}{role=~"${stereoRoles}"}`), legend: '{{role}}' }],
        },
        {
          title: 'Stereo queues', kind: 'timeseries', unit: 'short', width: 24,
          description: 'The chunking, video-worker and reassembly queues: waiting, in flight and dead letters.',
          targets: [{ expr: `${REC.queueDepth}{role=~"${stereoRoles}"}`, legend: '{{role}} {{state}}' }],
        },
      ],
    },
  ],
};

export const DASHBOARDS: readonly DashboardSpec[] = [fleet, stereo];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function mappings(m: Record<string, [string, string]>): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  Object.entries(m).forEach(([value, [text, color]], index) => { options[value] = { text, color, index }; });
  return [{ type: MappingType.ValueToText, options }];
}

const legend = (): VizLegendOptionsBuilder => new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom);

function panel(p: PanelSpec, id: number): Builder<Panel> {
  const targets = p.targets.map((t, i) => {
    const d = new DataqueryBuilder().expr(t.expr).legendFormat(t.legend).refId(String.fromCharCode(65 + i)).datasource(DATASOURCE);
    return t.instant ? d.instant().format(PromQueryFormat.Table) : d.range();
  });
  const gridPos = { x: 0, y: 0, w: p.width ?? 8, h: 8 };
  const common = <B extends TimeseriesBuilder | TableBuilder | StateTimelineBuilder>(b: B): B => {
    b.id(id).title(p.title).description(p.description).datasource(DATASOURCE).unit(p.unit).gridPos(gridPos);
    for (const t of targets) b.withTarget(t);
    if (p.mappings) b.mappings(mappings(p.mappings));
    return b;
  };
  switch (p.kind) {
    case 'timeseries': return common(new TimeseriesBuilder()).legend(legend());
    case 'table': return common(new TableBuilder());
    case 'statetimeline': return common(new StateTimelineBuilder()).legend(legend());
  }
}

/** The dashboard's JSON model, as Grafana imports it. */
export function buildDashboard(d: DashboardSpec): object {
  const b = new DashboardBuilder(d.title)
    .uid(d.uid)
    .description(d.description)
    .tags(['rugbyworker', 'generated'])
    .editable()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
  for (const v of d.variables) {
    b.withVariable(new QueryVariableBuilder(v.name).label(v.label).datasource(DATASOURCE)
      .query(`label_values(${v.selector}, ${v.labelName})`).definition(`label_values(${v.selector}, ${v.labelName})`)
      .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc)
      .multi(true).includeAll(true).allValue('.*').current({ text: 'All', value: '$__all' }));
  }
  // Ids in order, rows included: Grafana keys panels by id.
  let id = 0;
  for (const row of d.rows) {
    b.withRow(new RowBuilder(row.title).id(++id));
    for (const p of row.panels) b.withPanel(panel(p, ++id));
  }
  return b.build();
}

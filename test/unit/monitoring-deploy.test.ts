// deploy/grafana/ and deploy/prometheus/ are generated (npm run deploy:monitoring) from
// build/monitoring/: regenerate and compare. Then, without a Prometheus: every metric the
// code registers is in the catalogue and on a dashboard or in a rule, every name an
// expression uses is one the code registers (or a recording rule defined here), every alert
// has unit cases both ways and a runbook heading in the README. test/e2e/monitoring.test.ts
// runs the expressions on a real Prometheus; test/integration/prometheus-rules.test.ts runs promtool.
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { DEPLOY_DIR, renderMonitoringFiles } from '../../build/monitoring.js';
import { ALERT_RULES, RECORDING_RULES } from '../../build/monitoring/rules.js';
import { DASHBOARDS, STEREO_ROLES } from '../../build/monitoring/dashboards.js';
import { knownMetricNames, M } from '../../build/monitoring/names.js';
import { ROLES } from '../../roles/index.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { consumerMetrics } from '../../src/runtime/consumer-metrics.js';
import { reportQueueDepth } from '../../src/runtime/queue-depth.js';
import { DependencyHealth } from '../../src/runtime/dependency-health.js';
import { HealthServer } from '../../src/runtime/health.js';
import { reportWorkDirSpace } from '../../src/runtime/workdir.js';
import { reportHardware } from '../../roles/transcode/hardware-metrics.js';
import { transcodeMetrics } from '../../roles/transcode/metrics.js';
import { cleanupMetrics } from '../../roles/cleanup/metrics.js';
import { inferenceSeconds, stereoMetrics } from '../../roles/stereo/metrics.js';
import { createRequeuer } from '../../roles/transcode/requeue.js';
import type { MediaDb, Queue } from '../../src/ports/index.js';

interface GrafanaPanel { type: string; id: number; title: string; description?: string; targets?: Array<{ expr: string; refId: string }> }
interface GrafanaDashboard { uid: string; panels: GrafanaPanel[]; templating: { list: Array<{ name: string; query: string }> } }

const files = renderMonitoringFiles();
const dashboards = DASHBOARDS.map((d) => JSON.parse(files.get(`grafana/${d.file}`)!) as GrafanaDashboard);

/** Every PromQL expression the generated files hold. */
function expressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const d of dashboards) {
    for (const v of d.templating.list) if (v.name !== 'datasource') out.push({ where: `${d.uid} $${v.name}`, expr: v.query });
    for (const p of d.panels) for (const t of p.targets ?? []) out.push({ where: `${d.uid} "${p.title}" ${t.refId}`, expr: t.expr });
  }
  for (const r of RECORDING_RULES) out.push({ where: r.record, expr: r.expr });
  for (const a of ALERT_RULES) out.push({ where: a.alert, expr: a.expr });
  return out;
}

const NAME = /[a-z_]+:rugbyworker_[a-z0-9_]+:[a-z0-9]+|\b(?:rugbyworker|process|nodejs)_[a-z0-9_]+|\bup(?=\{)/g;
const recorded = new Set(RECORDING_RULES.map((r) => r.record));

/** The metric a name in an expression reads: a histogram's _bucket/_count/_sum is its histogram. */
function metricOf(name: string, known: Set<string>): string {
  if (known.has(name) || recorded.has(name)) return name;
  const base = name.replace(/_(bucket|count|sum)$/, '');
  return known.has(base) ? base : name;
}

/** What the README's headings are linked as (GitHub's anchors). */
function readmeAnchors(): Set<string> {
  const readme = readFileSync(join(DEPLOY_DIR, '..', 'README.md'), 'utf8');
  return new Set([...readme.matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
}

describe('deploy/grafana and deploy/prometheus', () => {
  it('the committed files are exactly what the generator writes (npm run deploy:monitoring)', () => {
    const committed = ['grafana', 'prometheus'].flatMap((dir) => readdirSync(join(DEPLOY_DIR, dir)).map((f) => `${dir}/${f}`)).sort();
    expect(committed).toEqual([...files.keys()].sort());
    for (const [name, text] of files) expect({ name, text: readFileSync(join(DEPLOY_DIR, name), 'utf8') }).toEqual({ name, text });
  });

  it('every rugbyworker metric the code registers is in the catalogue, and nothing else is', async () => {
    const m = new Metrics({ instanceId: 't', defaultMetrics: false });
    const logger = pino({ level: 'silent' });
    consumerMetrics(m, 'transcode', 1);
    reportQueueDepth(m, { role: 'transcode', queue: { name: 'q', depth: async () => ({ visible: 0, inflight: 0, dlq: 0 }) }, logger });
    new DependencyHealth({ metrics: m }).succeeded('s3');
    new HealthServer({ port: 0, instanceId: 't', roles: ['transcode'], version: '0', metrics: m });
    reportWorkDirSpace(m, tmpdir());
    reportHardware(m, { decode: 'none', encoder: 'libx264' });
    transcodeMetrics(m);
    createRequeuer({ db: {} as MediaDb, queue: {} as Queue, limits: () => ({ queuedSeconds: 1, orphanSeconds: 1 }), logger, metrics: m });
    cleanupMetrics(m);
    stereoMetrics(m, 'chunk', ['chunked']);
    inferenceSeconds(m, 'stub');
    const registered = (await m.registry.getMetricsAsJSON()).map((x) => x.name).sort();
    const catalogue = [...knownMetricNames()].filter((n) => n.startsWith('rugbyworker_')).sort();
    expect(registered).toEqual(catalogue);
  });

  it('every name an expression reads is registered by the code or recorded by a rule here', () => {
    const known = knownMetricNames();
    const unknown = expressions().flatMap(({ where, expr }) => [...expr.matchAll(NAME)].map((x) => metricOf(x[0], known))
      .filter((n) => !known.has(n) && !recorded.has(n)).map((n) => `${where}: ${n}`));
    expect(unknown).toEqual([]);
  });

  it('every metric of the catalogue and every recording rule is on a dashboard or in an alert', () => {
    const known = knownMetricNames();
    const used = new Set(expressions().flatMap(({ expr }) => [...expr.matchAll(NAME)].map((x) => metricOf(x[0], known))));
    const shown = new Set([...dashboards.flatMap((d) => d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr))), ...ALERT_RULES.map((a) => a.expr)]
      .flatMap((e) => [...e.matchAll(NAME)].map((x) => metricOf(x[0], known))));
    expect([...known].filter((n) => !used.has(n) && !shown.has(n))).toEqual([]);
    expect(RECORDING_RULES.map((r) => r.record).filter((r) => !shown.has(r))).toEqual([]);
  });

  it('each alert: parts inside its expression, a case that fires and one that does not, a runbook heading in the README', () => {
    const anchors = readmeAnchors();
    expect(new Set(ALERT_RULES.map((a) => a.alert)).size).toBe(ALERT_RULES.length);
    for (const a of ALERT_RULES) {
      expect({ alert: a.alert, parts: a.parts.filter((p) => !a.expr.includes(p)) }).toEqual({ alert: a.alert, parts: [] });
      expect(a.parts.length).toBeGreaterThan(0);
      expect({ alert: a.alert, fires: a.cases.some((k) => k.firing.length > 0), silent: a.cases.some((k) => k.firing.length === 0) }).toEqual({ alert: a.alert, fires: true, silent: true });
      expect({ alert: a.alert, runbook: anchors.has(a.runbook) }).toEqual({ alert: a.alert, runbook: true });
    }
  });

  it('dashboards: unique uids and panel ids, every panel described with a query, stereo roles that exist', () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    for (const d of dashboards) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        expect({ title: p.title, described: (p.description ?? '').length > 20, queries: (p.targets ?? []).length > 0 }).toEqual({ title: p.title, described: true, queries: true });
      }
    }
    expect(STEREO_ROLES.filter((r) => !ROLES.some((x) => x.name === r))).toEqual([]);
    expect(M.consumer.received).toBe('rugbyworker_messages_received_total');
  });
});

// deploy/ecs/ is generated (npm run deploy:ecs) from the config schema and the role
// registry: regenerate and compare, then check each file's shape (RegisterTaskDefinition's
// required fields, stopTimeout vs the grace, health check, awslogs, secrets as references)
// and that the health-check command really passes on a 200 and fails otherwise.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ECS_DIR, renderEcsFiles } from '../../build/ecs.js';
import { schema } from '../../src/runtime/config/schema.js';
import { ROLES } from '../../roles/index.js';

type Container = {
  name: string; image: string; essential: boolean; command: string[]; stopTimeout: number;
  environment: Array<{ name: string; value: string }>; secrets: Array<{ name: string; valueFrom: string }>;
  healthCheck: { command: string[] }; logConfiguration: { logDriver: string; options: Record<string, string> };
};
type TaskDef = { family: string; cpu: string; memory: string; containerDefinitions: Container[] };

const files = renderEcsFiles();
const taskDefs = [...files].filter(([n]) => n.endsWith('.task-definition.json')).map(([n, t]) => [n, JSON.parse(t) as TaskDef] as const);

describe('deploy/ecs', () => {
  it('the committed files are exactly what the generator writes (npm run deploy:ecs)', () => {
    const committed = readdirSync(ECS_DIR).filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual([...files.keys()].sort());
    for (const [name, text] of files) expect({ name, text: readFileSync(join(ECS_DIR, name), 'utf8') }).toEqual({ name, text });
  });

  it('one task definition per role and one for all', () => {
    expect(taskDefs.map(([n]) => n).sort()).toEqual([...ROLES.map((r) => r.name), 'all'].map((r) => `${r}.task-definition.json`).sort());
  });

  it.each(taskDefs)('%s: required fields, stopTimeout, health check, awslogs, secrets by reference', (_name, td) => {
    expect(td.family).toMatch(/^[A-Za-z0-9_-]{1,255}$/);
    expect(Number(td.cpu)).toBeGreaterThan(0);
    expect(Number(td.memory)).toBeGreaterThan(0);
    expect(td.containerDefinitions).toHaveLength(1);
    const c = td.containerDefinitions[0]!;
    expect(typeof c.name).toBe('string');
    expect(typeof c.image).toBe('string');
    expect(c.essential).toBe(true);
    expect(c.command[0]).toBe('--role');
    const env = Object.fromEntries(c.environment.map((e) => [e.name, e.value]));
    expect(c.stopTimeout).toBeGreaterThanOrEqual(Number(env.SHUTDOWN_GRACE_SECONDS) + 5);
    expect(c.stopTimeout).toBeLessThanOrEqual(120);
    expect(env.HEALTH_HOST).toBe('0.0.0.0');
    expect(env.HEALTH_PORT).toMatch(/^\d+$/);
    expect(c.healthCheck.command.join(' ')).toContain(`/dev/tcp/127.0.0.1/${env.HEALTH_PORT}`);
    expect(c.logConfiguration.logDriver).toBe('awslogs');
    expect(Object.keys(c.logConfiguration.options)).toEqual(expect.arrayContaining(['awslogs-group', 'awslogs-region', 'awslogs-stream-prefix']));
    // Every name is a schema key; sensitive ones only as Secrets Manager references.
    for (const { name } of [...c.environment, ...c.secrets]) expect(Object.keys(schema)).toContain(name);
    for (const e of c.environment) expect((schema as Record<string, { sensitive?: boolean }>)[e.name]!.sensitive).not.toBe(true);
    for (const s of c.secrets) {
      expect((schema as Record<string, { sensitive?: boolean }>)[s.name]!.sensitive).toBe(true);
      expect(s.valueFrom).toMatch(/^arn:aws:secretsmanager:[^:]+:[^:]+:secret:[^:]+:[A-Z0-9_]+::$/);
    }
    expect(c.secrets.map((s) => s.name)).toContain('AXIOM_API_TOKEN');
  });

  it('the stereo roles log in stereo-spot\'s text format (its "Open logs" query finds them); the others, and all, in JSON', () => {
    const logFormat = (n: string) => taskDefs.find(([f]) => f === `${n}.task-definition.json`)![1].containerDefinitions[0]!.environment.find((e) => e.name === 'LOG_FORMAT')?.value;
    for (const role of ['chunk', 'segment-infer', 'reassemble', 'trigger']) expect(logFormat(role)).toBe('text');
    for (const role of ['transcode', 'cleanup', 'all']) expect(logFormat(role)).toBeUndefined();
  });

  it('the roles that touch RugbyCodex get its secrets; queue-fed roles get an autoscaling file from zero on queue depth', () => {
    const secretsOf = (n: string) => taskDefs.find(([f]) => f === `${n}.task-definition.json`)![1].containerDefinitions[0]!.secrets.map((s) => s.name);
    expect(secretsOf('transcode')).toEqual(expect.arrayContaining(['SUPABASE_SERVICE_ROLE_KEY', 'WASABI_KEY', 'WASABI_SECRET']));
    expect(secretsOf('chunk')).not.toContain('SUPABASE_SERVICE_ROLE_KEY');
    for (const role of ROLES) {
      const file = files.get(`${role.name}.autoscaling.json`);
      if (!(role.needs as { consumes?: string }).consumes) { expect(file).toBeUndefined(); continue; }
      const a = JSON.parse(file!) as { scalableTarget: Record<string, unknown>; scalingPolicy: { PolicyType: string; TargetTrackingScalingPolicyConfiguration: { TargetValue: number; CustomizedMetricSpecification: { MetricName: string; Namespace: string } } } };
      expect(a.scalableTarget).toMatchObject({ ServiceNamespace: 'ecs', ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 0 });
      expect(a.scalingPolicy.PolicyType).toBe('TargetTrackingScaling');
      expect(a.scalingPolicy.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Namespace: 'AWS/SQS' });
    }
  });

  it('the health-check command passes on a 200 from /health and fails on a 503', async () => {
    const cmd = taskDefs[0]![1].containerDefinitions[0]!.healthCheck.command;
    expect(cmd.slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => { paths.push(req.url ?? ''); res.writeHead(status).end('{}'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const script = cmd[3]!.replace('/8080', `/${port}`);
    const run = () => new Promise<number>((resolve) => execFile('bash', ['-c', script], (err) => resolve(err ? 1 : 0)));
    try {
      expect(await run()).toBe(0);
      status = 503;
      expect(await run()).toBe(1);
      expect(paths).toEqual(['/health', '/health']);
    } finally {
      server.close();
    }
  });
});

// `npm run deploy:ecs`: writes deploy/ecs/ from the config schema and the role registry,
// so the environment names in the task definitions can never drift from what the
// executable reads (test/unit/ecs-deploy.test.ts fails when the committed files differ).
// One task definition per role and one for `all`; an Application Auto Scaling target +
// target-tracking policy on ApproximateNumberOfMessagesVisible for each queue-fed role,
// from zero as seed 002 §3 does (desired count 0, about 10 visible messages per task).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { schema, type ConfigKey } from '../src/runtime/config/schema.js';
import { requiredSettings, type RoleNeeds } from '../src/domain/requirements.js';
import { ROLES } from '../roles/index.js';

export const ECS_DIR = fileURLToPath(new URL('../deploy/ecs/', import.meta.url));

const GRACE_SECONDS = schema.SHUTDOWN_GRACE_SECONDS.default;
/** ≥ grace + 5 (the lifecycle's release and log flush), at most Fargate's 120. */
const STOP_TIMEOUT = Math.min(120, GRACE_SECONDS + 5);
const HEALTH_PORT = 8080;
const IMAGE = '<ACCOUNT_ID>.dkr.ecr.<REGION>.amazonaws.com/rugbyworker:<VERSION>';
const SECRET_ARN = 'arn:aws:secretsmanager:<REGION>:<ACCOUNT_ID>:secret:rugbyworker';

/** Fargate sizes (cpu units, MiB): FFmpeg roles get more. */
const SIZE: Record<string, { cpu: string; memory: string }> = {
  transcode: { cpu: '4096', memory: '8192' },
  chunk: { cpu: '1024', memory: '2048' },
  reassemble: { cpu: '1024', memory: '2048' },
  'segment-infer': { cpu: '512', memory: '1024' },
  cleanup: { cpu: '256', memory: '512' },
  trigger: { cpu: '256', memory: '512' },
  all: { cpu: '4096', memory: '8192' },
};

/** Set in every container: health server reachable by the health check, logs tagged ecs. */
const FIXED: Partial<Record<ConfigKey, string>> = {
  HEALTH_HOST: '0.0.0.0',
  HEALTH_PORT: String(HEALTH_PORT),
  SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
  QUEUE_BACKEND: 'sqs',
  AXIOM_ENVIRONMENT: 'ecs',
  WORK_DIR: '/var/lib/rugbyworker',
};
const COMMON: ConfigKey[] = ['LOG_LEVEL', 'CONCURRENCY', 'AWS_REGION', 'AXIOM_DATASET'];
/** Sensitive keys every role may use (Axiom logging). */
const COMMON_SECRETS: ConfigKey[] = ['AXIOM_API_TOKEN'];

const isSensitive = (k: ConfigKey): boolean => (schema[k] as { sensitive?: boolean }).sensitive === true;
const placeholder = (k: string): string => `<${k}>`;

/** The schema keys a role reads on ECS (SQS backend, Wasabi media storage, any inference backend). */
function keysOf(needs: RoleNeeds, name: string): ConfigKey[] {
  const cfg = { QUEUE_BACKEND: 'sqs', WASABI_ENDPOINT: needs.mediaStorage ? 'https://s3.wasabisys.com' : '', INFERENCE_BACKEND: 'stub' };
  const keys = new Set<string>(requiredSettings(name, needs, cfg).map((r) => r.key));
  for (const k of needs.usesWhenSet ?? []) keys.add(k);
  if (needs.mediaStorage) { keys.add('WASABI_ENDPOINT'); keys.add('WASABI_REGION'); }
  if (needs.inference) { keys.add('INFERENCE_BACKEND'); keys.add('SAGEMAKER_ENDPOINT_NAME'); keys.add('SAGEMAKER_ASYNC'); }
  if (needs.consumes) keys.add('SQS_LONG_POLL_WAIT_SECONDS');
  for (const k of keys) if (!(k in schema)) throw new Error(`role ${name} needs ${k}, which the config schema does not know`);
  return [...keys] as ConfigKey[];
}

function taskDefinition(family: string, roleArg: string, keys: ConfigKey[]): object {
  // A stereo role's lines in stereo-spot's text format: the web UI's "Open logs" query reads
  // only those (STEREO-SPOT-MAIN.md §8). Axiom still gets JSON; `all` (transcode too) keeps JSON.
  const fixed: Partial<Record<ConfigKey, string>> = { ...FIXED, ...(keys.includes('JOBS_TABLE_NAME') && roleArg !== 'all' ? { LOG_FORMAT: 'text' } : {}) };
  const all = new Set<ConfigKey>([...Object.keys(fixed) as ConfigKey[], ...COMMON, ...keys, ...COMMON_SECRETS]);
  const sorted = [...all].sort();
  const environment = sorted.filter((k) => !isSensitive(k)).map((k) => ({
    name: k,
    value: fixed[k] ?? (keys.includes(k) && schema[k].default === '' ? placeholder(k) : String(schema[k].default)),
  }));
  const secrets = sorted.filter(isSensitive).map((k) => ({ name: k, valueFrom: `${SECRET_ARN}:${k}::` }));
  const size = SIZE[roleArg] ?? { cpu: '512', memory: '1024' };
  return {
    family,
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: size.cpu,
    memory: size.memory,
    runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    executionRoleArn: 'arn:aws:iam::<ACCOUNT_ID>:role/rugbyworker-execution',
    taskRoleArn: `arn:aws:iam::<ACCOUNT_ID>:role/${family}-task`,
    containerDefinitions: [{
      name: 'rugbyworker',
      image: IMAGE,
      essential: true,
      command: ['--role', roleArg],
      stopTimeout: STOP_TIMEOUT,
      portMappings: [{ containerPort: HEALTH_PORT, protocol: 'tcp' }],
      environment,
      secrets,
      // The image has no curl: bash's /dev/tcp asks /health and passes only on a 200.
      healthCheck: {
        command: ['CMD', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${HEALTH_PORT} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '`],
        interval: 30,
        timeout: 5,
        retries: 3,
        startPeriod: 15,
      },
      logConfiguration: {
        logDriver: 'awslogs',
        options: { 'awslogs-group': `/ecs/${family}`, 'awslogs-region': '<REGION>', 'awslogs-stream-prefix': 'rugbyworker', 'awslogs-create-group': 'true' },
      },
      mountPoints: [{ sourceVolume: 'work', containerPath: '/var/lib/rugbyworker' }],
    }],
    volumes: [{ name: 'work' }],
    ...(roleArg === 'transcode' || roleArg === 'all' ? { ephemeralStorage: { sizeInGiB: 100 } } : {}),
  };
}

function autoscaling(family: string, queueKey: string): object {
  const resourceId = `service/<CLUSTER>/${family}`;
  return {
    scalableTarget: { ServiceNamespace: 'ecs', ResourceId: resourceId, ScalableDimension: 'ecs:service:DesiredCount', MinCapacity: 0, MaxCapacity: family.endsWith('transcode') ? 10 : 8 },
    scalingPolicy: {
      PolicyName: `${family}-queue-depth`,
      ServiceNamespace: 'ecs',
      ResourceId: resourceId,
      ScalableDimension: 'ecs:service:DesiredCount',
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 10,
        CustomizedMetricSpecification: {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Namespace: 'AWS/SQS',
          Dimensions: [{ Name: 'QueueName', Value: placeholder(`${queueKey} queue name`) }],
          Statistic: 'Sum', // as upstream's ecs.tf
        },
        ScaleOutCooldown: 60,
        ScaleInCooldown: 300,
      },
    },
  };
}

/** Every file of deploy/ecs/, by name. */
export function renderEcsFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const json = (o: object): string => `${JSON.stringify(o, null, 2)}\n`;
  const allKeys = new Set<ConfigKey>();
  for (const role of ROLES) {
    const needs = role.needs as RoleNeeds;
    const keys = keysOf(needs, role.name);
    keys.forEach((k) => allKeys.add(k));
    const family = `rugbyworker-${role.name}`;
    files.set(`${role.name}.task-definition.json`, json(taskDefinition(family, role.name, keys)));
    if (needs.consumes) files.set(`${role.name}.autoscaling.json`, json(autoscaling(family, needs.consumes)));
  }
  files.set('all.task-definition.json', json(taskDefinition('rugbyworker-all', 'all', [...allKeys])));
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = renderEcsFiles();
  mkdirSync(ECS_DIR, { recursive: true });
  for (const f of readdirSync(ECS_DIR)) if (f.endsWith('.json') && !files.has(f)) rmSync(join(ECS_DIR, f));
  for (const [name, text] of files) writeFileSync(join(ECS_DIR, name), text);
  console.log(`deploy/ecs: ${files.size} files written`);
}

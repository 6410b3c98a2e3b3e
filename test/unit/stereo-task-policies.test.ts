// The task-role and task-environment fixtures (test/fixtures/stereo/) against upstream's own
// Terraform text: every statement's actions and resources, every environment entry, read
// from the cited lines of the .tf file at its commit (the stereo-spot mirror,
// STEREO_SPOT_GIT_DIR or /work/.mirror/alexpialetski+stereo-spot/repo), and nothing at those
// lines the fixture leaves out. Without the mirror only the fixtures' own consistency is checked.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { TASK_POLICIES, taskPolicy, type TaskPolicyFixture } from '../fixtures/stereo/task-policies.js';
import { TASK_ENVIRONMENTS, taskEnvironment } from '../fixtures/stereo/task-environments.js';
import { allows } from '../helpers/iam-policy.js';
import type { TerraformWorld } from '../fixtures/stereo/terraform-world.js';

const GIT_DIR = process.env.STEREO_SPOT_GIT_DIR ?? '/work/.mirror/alexpialetski+stereo-spot/repo';
const haveMirror = existsSync(GIT_DIR);

const files = new Map<string, string[]>();
function tfLines(version: string, file: string): string[] {
  const id = `${version}:packages/aws-infra/${file}`;
  let lines = files.get(id);
  if (!lines) {
    lines = execFileSync('git', ['--git-dir', GIT_DIR, 'show', id], { encoding: 'utf8' }).split('\n');
    files.set(id, lines);
  }
  return lines;
}

/** Lines `from`…`to` (1-based, inclusive). */
const slice = (lines: string[], [from, to]: readonly [number, number]): string => lines.slice(from - 1, to).join('\n');

/** A statement block's actions (the quoted strings between Action and Resource). */
function actionsOf(block: string): string[] {
  const m = /Action\s*=\s*([\s\S]*?)\n\s*Resource\s*=/.exec(block);
  return m ? [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!) : [];
}

/** A statement block's resources, normalised as the fixtures write them, in order. */
function resourcesOf(block: string): string[] {
  const m = /Resource\s*=\s*([\s\S]*)$/.exec(block);
  if (!m) return [];
  return [...m[1]!.matchAll(/"([^"]*)"|(aws_[a-z0-9_]+\.[a-z0-9_]+(?:\[0\])?\.(?:arn|stream_arn))/g)].map((x) => {
    if (x[2] !== undefined) return x[2];
    const interpolated = /^\$\{(aws_[^}]+)\}(.*)$/.exec(x[1]!);
    return interpolated ? `${interpolated[1]}${interpolated[2]}` : x[1]!;
  });
}

const refs = (f: TaskPolicyFixture['statements'][number]): string[] => f.resources.map((r) => (typeof r === 'string' ? r : r.ref));

describe.each(TASK_POLICIES.map((f) => [`${f.version} ${f.file}:${f.lines.join('-')} ${f.role}`, f] as const))('task policy %s', (_name, fixture) => {
  (haveMirror ? it : it.skip)('each statement is the .tf text at its lines: Allow, the same actions and resources in order', () => {
    const lines = tfLines(fixture.version, fixture.file);
    expect(slice(lines, [fixture.lines[0], fixture.lines[0]])).toMatch(/^resource "aws_iam_role_policy" "/);
    for (const s of fixture.statements) {
      const block = slice(lines, s.lines);
      expect(block).toMatch(/Effect\s*=\s*"Allow"/);
      expect({ lines: s.lines, actions: actionsOf(block), resources: resourcesOf(block) }).toEqual({ lines: s.lines, actions: s.actions, resources: refs(s) });
      expect(s.lines[0]).toBeGreaterThanOrEqual(fixture.lines[0]);
      expect(s.lines[1]).toBeLessThanOrEqual(fixture.lines[1]);
    }
    // No statement left out: every Effect line of the resource is in one of the fixture's blocks.
    const effects = lines.slice(fixture.lines[0] - 1, fixture.lines[1]).flatMap((l, i) => (/Effect\s*=/.test(l) ? [fixture.lines[0] + i] : []));
    expect(effects.every((n) => fixture.statements.some((s) => n >= s.lines[0] && n <= s.lines[1]))).toBe(true);
    expect(effects).toHaveLength(fixture.statements.length);
  });
});

describe.each(TASK_ENVIRONMENTS.map((f) => [`${f.version} ${f.task}`, f] as const))('task environment %s', (_name, fixture) => {
  (haveMirror ? it : it.skip)('each entry is the .tf line it cites, and the cited ranges set nothing else', () => {
    const lines = tfLines(fixture.version, 'ecs.tf');
    for (const entry of fixture.entries) {
      const text = lines[entry.line - 1] ?? '';
      const m = /\{\s*name\s*=\s*"([A-Z0-9_]+)",\s*value\s*=\s*(.+?)\s*\}/.exec(text);
      expect({ line: entry.line, name: m?.[1], value: m?.[2] }).toEqual({ line: entry.line, name: entry.name, value: entry.value });
    }
    const cited = fixture.ranges.flatMap(([from, to]) => lines.slice(from - 1, to).flatMap((l, i) => (/\{\s*name\s*=/.test(l) ? [from + i] : [])));
    expect(cited.sort((a, b) => a - b)).toEqual(fixture.entries.map((x) => x.line).sort((a, b) => a - b));
  });
});

describe('fixtures in a local world', () => {
  const world: TerraformWorld = {
    'aws_s3_bucket.input': 'in', 'aws_s3_bucket.output': 'out',
    'aws_dynamodb_table.jobs': 'jobs', 'aws_dynamodb_table.segment_completions': 'sc', 'aws_dynamodb_table.reassembly_triggered': 'rt',
    'aws_sqs_queue.chunking': 'http://q/1/chunking', 'aws_sqs_queue.reassembly': 'http://q/1/reassembly', 'aws_sqs_queue.video_worker': 'http://q/1/vw',
    'aws_sagemaker_endpoint.stereocrafter[0]': 'Stereo', 'local.inference_http_url': 'http://model',
  };

  it('resolve to ARNs a request is checked against: the media worker may read jobs by index but not send to its queues', () => {
    const media = taskPolicy(TASK_POLICIES[0]!, world);
    expect(allows(media, 'dynamodb:Query', 'arn:aws:dynamodb:us-east-1:123456789012:table/jobs/index/status-created_at')).toBe(true);
    expect(allows(media, 'sqs:ReceiveMessage', 'arn:aws:sqs:us-east-1:123456789012:reassembly')).toBe(true);
    expect(allows(media, 'sqs:SendMessage', 'arn:aws:sqs:us-east-1:123456789012:reassembly')).toBe(false);
    expect(allows(media, 'sqs:GetQueueUrl', 'arn:aws:sqs:us-east-1:123456789012:chunking-dlq')).toBe(false);
    expect(allows(media, 's3:PutObject', 'arn:aws:s3:::out/jobs/j/final.mp4')).toBe(true);
    expect(allows(media, 's3:AbortMultipartUpload', 'arn:aws:s3:::out/jobs/j/final.mp4')).toBe(false);
    expect(allows(media, 's3:DeleteObject', 'arn:aws:s3:::in/input/j/source.mp4')).toBe(false);
  });

  it('follow the deployment options: the SageMaker statement only with inference sagemaker', () => {
    const video = TASK_POLICIES[1]!;
    const endpoint = 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/stereo';
    expect(allows(taskPolicy(video, world), 'sagemaker:InvokeEndpoint', endpoint)).toBe(true);
    expect(allows(taskPolicy(video, world, { inference: 'http', ingest: false }), 'sagemaker:InvokeEndpoint', endpoint)).toBe(false);
    expect(taskEnvironment(TASK_ENVIRONMENTS[1]!, world)).toEqual({
      AWS_REGION: 'us-east-1', INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'jobs', SEGMENT_COMPLETIONS_TABLE_NAME: 'sc',
      VIDEO_WORKER_QUEUE_URL: 'http://q/1/vw', INFERENCE_BACKEND: 'sagemaker', SAGEMAKER_ENDPOINT_NAME: 'Stereo', SAGEMAKER_REGION: 'us-east-1',
    });
    expect(taskEnvironment(TASK_ENVIRONMENTS[1]!, world, { inference: 'http', ingest: false })).toEqual(expect.objectContaining({ INFERENCE_BACKEND: 'http', INFERENCE_HTTP_URL: 'http://model' }));
  });
});

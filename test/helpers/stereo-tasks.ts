// Upstream's ECS tasks of the stereo pipeline, played by the built executable: each started
// with exactly the environment its task definition gives it (test/fixtures/stereo/
// task-environments.ts) plus only what the local stand-ins need (one endpoint, credentials),
// and reaching every service through an IAM proxy that holds its task role's policy
// (test/fixtures/stereo/task-policies.ts).
import { startIamProxy, taskPrincipal, type IamProxy } from './iam-proxy.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';
import type { AwsServiceName } from './iam-requests.js';
import type { StereoWorld } from './stereo-world.js';
import { INPUT, OUTPUT } from './stereo-world.js';
import { roleName, taskPolicy, type TaskPolicyFixture } from '../fixtures/stereo/task-policies.js';
import { taskEnvironment, type TaskEnvFixture } from '../fixtures/stereo/task-environments.js';
import { DEFAULT_OPTIONS, type TerraformOptions, type TerraformWorld } from '../fixtures/stereo/terraform-world.js';

export interface StereoTask {
  readonly worker: WorkerProcess;
  readonly proxy: IamProxy;
  /** The environment it was started with. */
  readonly env: Record<string, string>;
}

/** The world's buckets and tables by Terraform address, with `more` (queue URLs, the endpoint, …). */
export function terraformWorld(w: StereoWorld, more: Record<string, string>): TerraformWorld {
  return {
    'aws_s3_bucket.input': INPUT, 'aws_s3_bucket.output': OUTPUT,
    'aws_dynamodb_table.jobs': w.tables.jobs, 'aws_dynamodb_table.segment_completions': w.tables.segmentCompletions,
    'aws_dynamodb_table.reassembly_triggered': w.tables.reassemblyTriggered,
    ...more,
  };
}

/** An IAM proxy holding `policy`'s statements in `world`, in front of fauxqs and dynalite (and `extra` targets). */
export function taskProxy(w: StereoWorld, policy: TaskPolicyFixture, world: TerraformWorld, options: TerraformOptions = DEFAULT_OPTIONS, extra: Partial<Record<AwsServiceName, string>> = {}): Promise<IamProxy> {
  return startIamProxy({
    targets: { sqs: w.fauxqs.endpoint, s3: w.fauxqs.endpoint, dynamodb: w.dynalite.endpoint, ...extra },
    policy: taskPolicy(policy, world, options), principal: taskPrincipal(roleName(policy)),
  });
}

/** Credentials and the one endpoint the local stand-ins need; nothing else is added to a task's environment. */
export function localAccess(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'AKIDSTEREOTASK', AWS_SECRET_ACCESS_KEY: 'stereo-task-secret-access-key' };
}

/** Starts `rugbyworker args` as upstream's task would run it. */
export async function startStereoTask(opts: {
  w: StereoWorld;
  name: string;
  args: string[];
  policy: TaskPolicyFixture;
  env: TaskEnvFixture;
  world: TerraformWorld;
  options?: TerraformOptions;
  /** More proxy targets (the SageMaker runtime stand-in). */
  targets?: Partial<Record<AwsServiceName, string>>;
  /** The image's own settings (WORK_DIR, as the Dockerfile sets it). */
  image?: Record<string, string>;
}): Promise<StereoTask> {
  const options = opts.options ?? DEFAULT_OPTIONS;
  const proxy = await taskProxy(opts.w, opts.policy, opts.world, options, opts.targets);
  const env = { ...opts.image, ...taskEnvironment(opts.env, opts.world, options), ...localAccess(proxy.endpoint) };
  try {
    const worker = await startWorkerProcess(opts.args, env, opts.name, { waitForHealth: false });
    return { worker, proxy, env };
  } catch (err) {
    await proxy.stop();
    throw err;
  }
}

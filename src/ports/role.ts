// The role API: what a role is given (its context, its ports) and what it gives back.
// Roles import only src/ports/; src/wiring/ picks the adapters behind them from the configuration.
import type { Logger } from 'pino';
import type { Config } from '../runtime/config/schema.js';
import type { Metrics } from '../runtime/metrics.js';
import type { Service } from '../runtime/lifecycle.js';
import type { BucketKey, QueueUrlKey, RoleNeeds } from '../domain/requirements.js';
import type { PermissionCheck } from '../domain/stereo/task-permissions.js';
import type { ProbeVerdict } from '../domain/sqs-permissions.js';
import type { Queue } from './queue.js';
import type { ObjectStore } from './object-store.js';
import type { MediaDb } from './media-db.js';
import type { PipelineDb } from './pipeline-db.js';
import type { Inference } from './inference.js';

export type { Service } from '../runtime/lifecycle.js';

/** A started role; with --once, `done` resolves when its unit of work is finished. */
export interface RoleService extends Service {
  readonly done?: Promise<void>;
  /** With --once, read after `done`: non-zero when the unit of work failed (the process exits with the highest). */
  readonly exitCode?: () => number;
}

/** Everything a role may use; which parts are present follows from its declared needs. */
export interface RoleContext {
  readonly config: Config;
  /** This worker's name in job rows, logs and metrics. */
  readonly instanceId: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Aborted when shutdown starts: stop taking new work. */
  readonly stopping: AbortSignal;
  readonly concurrency: number;
  readonly once: boolean;
  /** --dry-run: report what would be done, change nothing (only roles whose definition says `dryRun`). */
  readonly dryRun?: boolean;
  readonly ports: RolePorts;
}

/** Adapters chosen by src/wiring/ from the configuration; each is created once and shared. */
export interface RolePorts {
  /** The queue behind a queue setting (SQS URL, a Redis stream, or an in-process queue). */
  queue(key: QueueUrlKey): Promise<Queue>;
  /** The bucket named by a bucket setting, a RugbyCodex media bucket (Wasabi) named by a row, or an AWS bucket named by an s3:// URI. */
  storage(bucket: BucketKey | { media: string } | { aws: string }): ObjectStore;
  mediaDb(): MediaDb;
  /** The stereo tables (created, and its SDK loaded, on first use). */
  pipelineDb(): Promise<PipelineDb>;
  /** The INFERENCE_BACKEND of segment-infer. */
  inference(): Promise<Inference>;
  /** Asks whether the credentials hold IAM permissions, with calls that change nothing; absent (local mode): every one is there. */
  permissions?(): PermissionProbe;
}

/** One verdict per check, in order: present, missing (the IAM policy refuses it) or unknown (no answer). */
export interface PermissionProbe {
  probe(checks: readonly PermissionCheck[]): Promise<ProbeVerdict[]>;
}

export interface RoleDefinition {
  readonly name: string;
  readonly description: string;
  readonly needs: RoleNeeds;
  /** The role honours --dry-run; the command line refuses the flag for any other. */
  readonly dryRun?: boolean;
  /** Absent while the role's issue has not landed: starting it says so and exits 2. */
  readonly start?: (ctx: RoleContext) => Promise<RoleService>;
}

// The interfaces roles are written against (DESIGN §3). Roles import only these;
// src/cli.ts picks the adapters behind them from the configuration.
import type { Logger } from 'pino';
import type { Config } from './runtime/config/schema.js';
import type { Metrics } from './runtime/metrics.js';
import type { Service } from './runtime/lifecycle.js';
import type { RoleNeeds } from './domain/requirements.js';

export type { Service } from './runtime/lifecycle.js';

export interface QueueMessage {
  readonly id: string;
  readonly body: string;
  readonly receiveCount: number;
  /** Adapter-specific handle (SQS receipt handle, Redis entry id). */
  readonly receipt: string;
}

export interface Queue {
  readonly name: string;
  receive(opts: { max: number; waitSeconds: number; signal?: AbortSignal }): Promise<QueueMessage[]>;
  extend(msg: QueueMessage, seconds: number): Promise<void>;
  release(msg: QueueMessage, delaySeconds?: number): Promise<void>;
  ack(msg: QueueMessage): Promise<void>;
  send(body: string): Promise<void>;
}

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: Date;
}

export interface ObjectStore {
  readonly bucket: string;
  head(key: string): Promise<ObjectInfo | null>;
  exists(key: string): Promise<boolean>;
  download(key: string, file: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;
  upload(source: string | NodeJS.ReadableStream, key: string, contentType: string, opts?: { signal?: AbortSignal }): Promise<void>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  deleteMany(keys: readonly string[]): Promise<{ deleted: string[]; errors: Array<{ key: string; message: string }> }>;
}

/** Everything a role may use; which parts are present follows from its declared needs. */
export interface RoleContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Aborted when shutdown starts: stop taking new work. */
  readonly stopping: AbortSignal;
  readonly concurrency: number;
  readonly once: boolean;
}

export interface RoleDefinition {
  readonly name: string;
  readonly description: string;
  readonly needs: RoleNeeds;
  /** Absent while the role's issue has not landed: starting it says so and exits 2. */
  readonly start?: (ctx: RoleContext) => Promise<Service>;
}

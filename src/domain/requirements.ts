// Which settings a role needs follows from what it uses (its declared needs) and from
// choices made elsewhere in the config (queue backend, Wasabi, inference backend).
export type QueueUrlKey = 'SQS_TRANSCODE_QUEUE_URL' | 'CHUNKING_QUEUE_URL' | 'VIDEO_WORKER_QUEUE_URL' | 'REASSEMBLY_QUEUE_URL';
export type BucketKey = 'INPUT_BUCKET_NAME' | 'OUTPUT_BUCKET_NAME';
export type TableKey = 'JOBS_TABLE_NAME' | 'SEGMENT_COMPLETIONS_TABLE_NAME' | 'REASSEMBLY_TRIGGERED_TABLE_NAME';

export interface RoleNeeds {
  /** The queue the role consumes. */
  readonly consumes?: QueueUrlKey;
  /** Queues the role sends to. */
  readonly sendsTo?: readonly QueueUrlKey[];
  readonly buckets?: readonly BucketKey[];
  /** RugbyCodex media storage (Wasabi or S3): the bucket of each object comes from its row. */
  readonly mediaStorage?: boolean;
  readonly mediaDb?: boolean;
  readonly tables?: readonly TableKey[];
  readonly inference?: boolean;
  readonly ffmpeg?: boolean;
  /** Settings the role uses when they are set and does without otherwise (segment-infer's inline trigger): never required. */
  readonly usesWhenSet?: ReadonlyArray<QueueUrlKey | TableKey>;
}

export interface Requirement {
  readonly key: string;
  readonly reason: string;
}

type Settings = Readonly<Record<string, unknown>>;

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/** Every setting `role` cannot run without, given the rest of the configuration. */
export function requiredSettings(role: string, needs: RoleNeeds, cfg: Settings): Requirement[] {
  const out: Requirement[] = [];
  const need = (key: string, why: string) => out.push({ key, reason: `${why} (role ${role})` });

  for (const q of [...(needs.consumes ? [needs.consumes] : []), ...(needs.sendsTo ?? [])]) {
    if (cfg.QUEUE_BACKEND === 'sqs') need(q, q === 'SQS_TRANSCODE_QUEUE_URL' ? 'SQS queue URL (or its other name, SQS_QUEUE_URL)' : 'SQS queue URL');
    if (cfg.QUEUE_BACKEND === 'redis') need('REDIS_URL', 'Redis server of QUEUE_BACKEND=redis');
  }
  for (const b of needs.buckets ?? []) need(b, 'bucket name');
  if (needs.mediaStorage && isSet(cfg.WASABI_ENDPOINT)) {
    need('WASABI_KEY', 'Wasabi access key for WASABI_ENDPOINT');
    need('WASABI_SECRET', 'Wasabi secret key for WASABI_ENDPOINT');
  }
  if (needs.mediaDb) {
    need('SUPABASE_URL', 'Supabase project URL');
    need('SUPABASE_SERVICE_ROLE_KEY', 'Supabase service role key');
  }
  for (const t of needs.tables ?? []) need(t, 'DynamoDB table name');
  if (needs.inference) {
    if (cfg.INFERENCE_BACKEND === 'sagemaker') need('SAGEMAKER_ENDPOINT_NAME', 'SageMaker endpoint of INFERENCE_BACKEND=sagemaker');
    if (cfg.INFERENCE_BACKEND === 'http') need('INFERENCE_HTTP_URL', 'inference server of INFERENCE_BACKEND=http');
  }
  if (isSet(cfg.AWS_ACCESS_KEY_ID) !== isSet(cfg.AWS_SECRET_ACCESS_KEY)) {
    need(isSet(cfg.AWS_ACCESS_KEY_ID) ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID', 'AWS credentials come in pairs');
  }
  return dedupe(out);
}

/** The requirements of the chosen roles that the configuration leaves empty. */
export function missingSettings(roles: ReadonlyArray<{ name: string; needs: RoleNeeds }>, cfg: Settings): Requirement[] {
  return dedupe(roles.flatMap((r) => requiredSettings(r.name, r.needs, cfg))).filter((r) => !isSet(cfg[r.key]));
}

function dedupe(reqs: Requirement[]): Requirement[] {
  const seen = new Set<string>();
  return reqs.filter((r) => (seen.has(r.key) ? false : (seen.add(r.key), true)));
}

// Which stereo-spot deployment a task belongs to (STEREO-SPOT-MAIN.md §0, §2), told by the
// environment its ECS task definition gives it, unless STEREO_TOPOLOGY says so outright:
// - ecba15e (STEREO-SPOT.md): the reassembly-trigger Lambda on the SegmentCompletions
//   stream; segment-infer records each completion itself; real-time SageMaker.
// - b622b25 (stereo-spot main): split pipeline: the video-worker only infers (async
//   SageMaker, InferenceInvocations, output-events), a job-worker records completions and
//   completes jobs from output-bucket events, the media-worker also deletes and ingests,
//   and the statuses ingesting and reassembling are written.
//
// ecba15e's task definitions set no variable of their own: every one they set (AWS_REGION,
// the buckets, the three tables, the chunking, video-worker and reassembly queues, the
// inference backend's) is set at b622b25 too. So b622b25 is recognised by what only its task
// definitions set, and anything else is ecba15e, which is also what a deployment of ours
// that predates this choice gets: nothing it relies on changes.

export const STEREO_TOPOLOGIES = ['ecba15e', 'b622b25'] as const;
export type StereoTopology = (typeof STEREO_TOPOLOGIES)[number];
/** STEREO_TOPOLOGY's values: auto decides from the environment. */
export const TOPOLOGY_SETTINGS = ['auto', ...STEREO_TOPOLOGIES] as const;
export type TopologySetting = (typeof TOPOLOGY_SETTINGS)[number];

/**
 * Variables only b622b25's task definitions set (packages/aws-infra/ecs.tf@b622b25:393-460;
 * ecba15e's lists, ecs.tf@ecba15e:260-297, have none of them), with the tasks that get each.
 * PLATFORM counts only with the value b622b25 gives it ("aws"): the name is common enough
 * that a shell or a CI may have it for another reason.
 */
export const B622B25_MARKERS: ReadonlyArray<{ readonly name: string; readonly value?: string; readonly tasks: string }> = [
  { name: 'PLATFORM', value: 'aws', tasks: 'every task' },
  { name: 'OUTPUT_EVENTS_QUEUE_URL', tasks: 'video-worker' },
  { name: 'INFERENCE_INVOCATIONS_TABLE_NAME', tasks: 'video-worker (sagemaker), job-worker' },
  { name: 'INFERENCE_MAX_IN_FLIGHT', tasks: 'video-worker (sagemaker)' },
  { name: 'SAGEMAKER_INVOKE_TIMEOUT_SECONDS', tasks: 'video-worker (sagemaker)' },
  { name: 'JOB_STATUS_EVENTS_QUEUE_URL', tasks: 'job-worker' },
  { name: 'DELETION_QUEUE_URL', tasks: 'media-worker' },
  { name: 'INGEST_QUEUE_URL', tasks: 'media-worker (ingest enabled)' },
  { name: 'YTDLP_COOKIES_SECRET_ARN', tasks: 'media-worker (ingest enabled)' },
];

export interface TopologyVerdict {
  readonly topology: StereoTopology;
  /** setting: STEREO_TOPOLOGY named it; environment: told by the markers present (or their absence). */
  readonly source: 'setting' | 'environment';
  /** The marker variables that are set (names only: their values are URLs and ARNs), in B622B25_MARKERS order. */
  readonly markers: readonly string[];
  /** One sentence for `doctor` and the start-up line: which setting or variables told it. */
  readonly reason: string;
}

/**
 * The topology of this task. `env` is the environment as the task sees it (an empty value
 * is unset, as the configuration reads it); `setting` is STEREO_TOPOLOGY. An explicit
 * setting wins, and when the environment says otherwise the reason says so too.
 */
export function detectTopology(env: Readonly<Record<string, string | undefined>>, setting: TopologySetting = 'auto'): TopologyVerdict {
  const markers = B622B25_MARKERS.filter((m) => {
    const v = env[m.name];
    if (v === undefined || v.trim() === '') return false;
    return m.value === undefined || v.trim().toLowerCase() === m.value;
  }).map((m) => (m.value === undefined ? m.name : `${m.name}=${m.value}`));
  const told: StereoTopology = markers.length > 0 ? 'b622b25' : 'ecba15e';
  const evidence = markers.length > 0
    ? `set: ${markers.join(', ')} (only stereo-spot b622b25's task definitions set them)`
    : `none of ${B622B25_MARKERS.map((m) => m.name).join(', ')} is set (the variables only stereo-spot b622b25's task definitions set)`;

  if (setting !== 'auto') {
    const disagree = told !== setting ? `; the environment alone would say ${told}: ${evidence}` : '';
    return { topology: setting, source: 'setting', markers, reason: `STEREO_TOPOLOGY=${setting}${disagree}` };
  }
  return { topology: told, source: 'environment', markers, reason: evidence };
}

/** `b622b25 (from the environment: set: PLATFORM=aws, …)`, for doctor's line and the start-up log. */
export function describeTopology(v: TopologyVerdict): string {
  return `${v.topology} (${v.source === 'setting' ? 'from the setting' : 'from the environment'}: ${v.reason})`;
}

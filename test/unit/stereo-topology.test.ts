// Which stereo-spot deployment a task belongs to, from the environment upstream's ECS task
// definitions give it (STEREO-SPOT-MAIN.md §2; ecba15e's lists from ecs.tf@ecba15e:260-297).
import { describe, expect, it } from '@jest/globals';
import { B622B25_MARKERS, describeTopology, detectTopology } from '../../src/domain/stereo/topology.js';
import { loadConfig } from '../../src/runtime/config/load.js';
import { ConfigError } from '../../src/runtime/errors.js';

const Q = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/stereo-spot-${name}`;
const COMMON_ECBA15E = { AWS_REGION: 'eu-west-1' };
const COMMON_B622B25 = { AWS_REGION: 'eu-west-1', PLATFORM: 'aws' };

// Exactly the variables each task definition sets (values made up, names exact).
const TASKS: Record<string, Record<string, string>> = {
  'ecba15e media-worker': {
    ...COMMON_ECBA15E, INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs',
    SEGMENT_COMPLETIONS_TABLE_NAME: 'stereo-spot-segment-completions', REASSEMBLY_TRIGGERED_TABLE_NAME: 'stereo-spot-reassembly-triggered',
    CHUNKING_QUEUE_URL: Q('chunking'), REASSEMBLY_QUEUE_URL: Q('reassembly'),
  },
  'ecba15e video-worker (sagemaker)': {
    ...COMMON_ECBA15E, INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs',
    SEGMENT_COMPLETIONS_TABLE_NAME: 'stereo-spot-segment-completions', VIDEO_WORKER_QUEUE_URL: Q('video-worker'),
    INFERENCE_BACKEND: 'sagemaker', SAGEMAKER_ENDPOINT_NAME: 'stereo-spot-stereocrafter', SAGEMAKER_REGION: 'eu-west-1',
  },
  'ecba15e video-worker (http)': {
    ...COMMON_ECBA15E, INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs',
    SEGMENT_COMPLETIONS_TABLE_NAME: 'stereo-spot-segment-completions', VIDEO_WORKER_QUEUE_URL: Q('video-worker'),
    INFERENCE_BACKEND: 'http', INFERENCE_HTTP_URL: 'http://10.0.0.5:8080',
  },
  'b622b25 media-worker': {
    ...COMMON_B622B25, INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs',
    SEGMENT_COMPLETIONS_TABLE_NAME: 'stereo-spot-segment-completions', REASSEMBLY_TRIGGERED_TABLE_NAME: 'stereo-spot-reassembly-triggered',
    CHUNKING_QUEUE_URL: Q('chunking'), REASSEMBLY_QUEUE_URL: Q('reassembly'), DELETION_QUEUE_URL: Q('deletion'),
  },
  'b622b25 video-worker (sagemaker)': {
    ...COMMON_B622B25, INPUT_BUCKET_NAME: 'in', OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs',
    VIDEO_WORKER_QUEUE_URL: Q('video-worker'), OUTPUT_EVENTS_QUEUE_URL: Q('output-events'),
    INFERENCE_BACKEND: 'sagemaker', SAGEMAKER_ENDPOINT_NAME: 'stereo-spot-inference', SAGEMAKER_REGION: 'eu-west-1',
    INFERENCE_MAX_IN_FLIGHT: '1', INFERENCE_INVOCATIONS_TABLE_NAME: 'stereo-spot-inference-invocations', SAGEMAKER_INVOKE_TIMEOUT_SECONDS: '3600',
  },
  'b622b25 job-worker': {
    ...COMMON_B622B25, OUTPUT_BUCKET_NAME: 'out', JOBS_TABLE_NAME: 'stereo-spot-jobs', SEGMENT_COMPLETIONS_TABLE_NAME: 'stereo-spot-segment-completions',
    JOB_STATUS_EVENTS_QUEUE_URL: Q('job-status-events'), REASSEMBLY_TRIGGERED_TABLE_NAME: 'stereo-spot-reassembly-triggered',
    REASSEMBLY_QUEUE_URL: Q('reassembly'), INFERENCE_INVOCATIONS_TABLE_NAME: 'stereo-spot-inference-invocations',
  },
};

describe('detectTopology from a task definition\'s environment', () => {
  it.each(Object.entries(TASKS))('%s', (task, env) => {
    const v = detectTopology(env);
    expect(v.topology).toBe(task.slice(0, 7));
    expect(v.source).toBe('environment');
  });

  it('says which variables told it, by name (their values are URLs and ARNs)', () => {
    const v = detectTopology(TASKS['b622b25 video-worker (sagemaker)']!);
    expect(v.markers).toEqual(['PLATFORM=aws', 'OUTPUT_EVENTS_QUEUE_URL', 'INFERENCE_INVOCATIONS_TABLE_NAME', 'INFERENCE_MAX_IN_FLIGHT', 'SAGEMAKER_INVOKE_TIMEOUT_SECONDS']);
    expect(v.reason).toBe('set: PLATFORM=aws, OUTPUT_EVENTS_QUEUE_URL, INFERENCE_INVOCATIONS_TABLE_NAME, INFERENCE_MAX_IN_FLIGHT, SAGEMAKER_INVOKE_TIMEOUT_SECONDS (only stereo-spot b622b25\'s task definitions set them)');
    expect(v.reason).not.toContain('sqs.');
    expect(describeTopology(v)).toBe(`b622b25 (from the environment: ${v.reason})`);
    expect(describeTopology(detectTopology({}, 'ecba15e'))).toBe('ecba15e (from the setting: STEREO_TOPOLOGY=ecba15e)');
  });

  it('names every marker when none is there', () => {
    const v = detectTopology(TASKS['ecba15e media-worker']!);
    expect(v.markers).toEqual([]);
    for (const m of B622B25_MARKERS) expect(v.reason).toContain(m.name);
  });

  it('b622b25 with its http backend, or an upstream task with ingest: any one marker is enough', () => {
    expect(detectTopology({ AWS_REGION: 'eu-west-1', INFERENCE_BACKEND: 'http', OUTPUT_EVENTS_QUEUE_URL: Q('output-events') }).topology).toBe('b622b25');
    expect(detectTopology({ INGEST_QUEUE_URL: Q('ingest') }).topology).toBe('b622b25');
    expect(detectTopology({ YTDLP_COOKIES_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }).markers).toEqual(['YTDLP_COOKIES_SECRET_ARN']);
  });

  it('counts PLATFORM only as b622b25 sets it (aws), and an empty variable as unset', () => {
    expect(detectTopology({ PLATFORM: 'linux/amd64' }).topology).toBe('ecba15e');
    expect(detectTopology({ PLATFORM: 'AWS' }).topology).toBe('b622b25');
    expect(detectTopology({ PLATFORM: ' aws ' }).markers).toEqual(['PLATFORM=aws']);
    expect(detectTopology({ DELETION_QUEUE_URL: '', OUTPUT_EVENTS_QUEUE_URL: '  ' }).topology).toBe('ecba15e');
  });

  it('local mode (no stereo-spot variables at all) is ecba15e, as before', () => {
    expect(detectTopology({}).topology).toBe('ecba15e');
  });
});

describe('STEREO_TOPOLOGY overrides', () => {
  it('wins over the environment, and the reason says both', () => {
    const v = detectTopology(TASKS['b622b25 job-worker']!, 'ecba15e');
    expect(v).toMatchObject({ topology: 'ecba15e', source: 'setting' });
    expect(v.reason).toMatch(/^STEREO_TOPOLOGY=ecba15e; the environment alone would say b622b25: set: PLATFORM=aws, INFERENCE_INVOCATIONS_TABLE_NAME, JOB_STATUS_EVENTS_QUEUE_URL /);
    const w = detectTopology({}, 'b622b25');
    expect(w).toMatchObject({ topology: 'b622b25', source: 'setting' });
    expect(w.reason).toMatch(/^STEREO_TOPOLOGY=b622b25; the environment alone would say ecba15e: none of PLATFORM/);
  });

  it('agreeing with the environment, says only the setting', () => {
    expect(detectTopology(TASKS['b622b25 media-worker']!, 'b622b25').reason).toBe('STEREO_TOPOLOGY=b622b25');
  });

  it('is a setting: auto by default, exit 78 naming it for anything else', () => {
    expect(loadConfig({ env: {} }).STEREO_TOPOLOGY).toBe('auto');
    expect(loadConfig({ env: { STEREO_TOPOLOGY: 'b622b25' } }).STEREO_TOPOLOGY).toBe('b622b25');
    let err: unknown;
    try {
      loadConfig({ env: { STEREO_TOPOLOGY: 'main' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^STEREO_TOPOLOGY must be one of .*auto.*ecba15e.*b622b25/);
    expect((err as ConfigError).exitCode).toBe(78);
  });

  it('the configuration does not refuse the b622b25 variables it does not read', () => {
    expect(() => loadConfig({ env: TASKS['b622b25 video-worker (sagemaker)']! })).not.toThrow();
  });
});

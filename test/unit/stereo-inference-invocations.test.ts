// What the b622b25 video-worker writes around InvokeEndpointAsync (STEREO-SPOT-MAIN.md §1.2,
// §4, §6.2): the request object and its key, the InferenceInvocations rows.
import { describe, expect, it } from '@jest/globals';
import { invocationFromItem, invocationItem } from '../../src/adapters/db/stereo-items.js';
import { INVOCATION_TTL_SECONDS, invocationRecords, invocationTimeoutSeconds, siblingLocation } from '../../src/domain/stereo/inference-invocations.js';
import { pythonInferenceRequestJson } from '../../src/domain/stereo/inference-request.js';
import { invocationRequestKey, segmentOutputUri } from '../../src/domain/stereo/keys.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const OUT = 'stereo-spot-output-123456789012';
const T = 1_772_100_000;
const OUTPUT_LOCATION = `s3://${OUT}/sagemaker-async-responses/7ee4e9fd-0e8f-4d6a-9f2b-123456789abc.out`;
const FAILURE_LOCATION = `s3://${OUT}/sagemaker-async-failures/7ee4e9fd-0e8f-4d6a-9f2b-123456789abc-error.out`;

describe('the request object (model_sagemaker.py@b622b25:62-91)', () => {
  it('is json.dumps with its default separators, byte for byte', () => {
    expect(pythonInferenceRequestJson({ inputUri: 's3://in/segments/j/00000_00002_sbs.mp4', outputUri: 's3://out/jobs/j/segments/0.mp4', mode: 'sbs' }))
      .toBe('{"s3_input_uri": "s3://in/segments/j/00000_00002_sbs.mp4", "s3_output_uri": "s3://out/jobs/j/segments/0.mp4", "mode": "sbs"}');
  });

  // Expected strings printed by CPython 3.11's json.dumps for the same dicts.
  it('escapes as Python does: quotes, backslashes, non-ASCII as \\uXXXX (astral as a surrogate pair)', () => {
    expect(pythonInferenceRequestJson({ inputUri: 's3://in/segments/jöb "q"/00001_00002_anaglyph.mp4', outputUri: 's3://out/jobs/jöb "q"/segments/1.mp4', mode: 'anaglyph' }))
      .toBe('{"s3_input_uri": "s3://in/segments/j\\u00f6b \\"q\\"/00001_00002_anaglyph.mp4", "s3_output_uri": "s3://out/jobs/j\\u00f6b \\"q\\"/segments/1.mp4", "mode": "anaglyph"}');
    expect(pythonInferenceRequestJson({ inputUri: 's3://in/segments/😀\\/0.mp4', outputUri: 'x\u2028', mode: 'sbs' }))
      .toBe('{"s3_input_uri": "s3://in/segments/\\ud83d\\ude00\\\\/0.mp4", "s3_output_uri": "x\\u2028", "mode": "sbs"}');
  });

  it('is the same JSON value as the compact body the http and real-time backends send', () => {
    const req = { inputUri: 's3://in/segments/ü/00000_00001_sbs.mp4', outputUri: segmentOutputUri(OUT, 'ü', 0), mode: 'sbs' as const };
    expect(JSON.parse(pythonInferenceRequestJson(req))).toEqual({ s3_input_uri: req.inputUri, s3_output_uri: req.outputUri, mode: 'sbs' });
  });

  it('lives at sagemaker-invocation-requests/{job_id}/{i}.json', () => {
    expect(invocationRequestKey(JOB, 4)).toBe(`sagemaker-invocation-requests/${JOB}/4.json`);
  });
});

describe('invocationRecords', () => {
  const input = { jobId: JOB, segmentIndex: 2, totalSegments: 5, outputS3Uri: segmentOutputUri(OUT, JOB, 2), outputLocation: OUTPUT_LOCATION, failureLocation: FAILURE_LOCATION, now: T };

  it('one row per result location: upstream\'s keyed by OutputLocation, ours also by FailureLocation (L9)', () => {
    const rows = invocationRecords(input);
    const common = { jobId: JOB, segmentIndex: 2, totalSegments: 5, outputS3Uri: `s3://${OUT}/jobs/${JOB}/segments/2.mp4`, createdAt: T, ttl: T + 14_400 };
    expect(rows).toEqual([{ outputLocation: OUTPUT_LOCATION, ...common }, { outputLocation: FAILURE_LOCATION, ...common }]);
    expect(INVOCATION_TTL_SECONDS).toBe(14_400);
  });

  it('one row when SageMaker names no failure location', () => {
    expect(invocationRecords({ ...input, failureLocation: undefined }).map((r) => r.outputLocation)).toEqual([OUTPUT_LOCATION]);
    expect(invocationRecords({ ...input, failureLocation: null })).toHaveLength(1);
    expect(invocationRecords({ ...input, failureLocation: OUTPUT_LOCATION })).toHaveLength(1);
  });

  it.each([
    [{ jobId: '' }, /job id is empty/],
    [{ totalSegments: 0 }, /total_segments/],
    [{ segmentIndex: 5 }, /segment_index/],
    [{ segmentIndex: -1 }, /segment_index/],
    [{ now: 1.5 }, /created_at/],
    [{ outputLocation: 'https://x/y' }, /OutputLocation/],
    [{ failureLocation: 's3://bucket-only' }, /FailureLocation/],
    [{ outputS3Uri: '' }, /output_s3_uri/],
  ])('refuses %j', (change, why) => {
    expect(() => invocationRecords({ ...input, ...change })).toThrow(why);
  });
});

describe('the row as stored (dynamodb_stores.py@b622b25:318-330)', () => {
  const [row] = invocationRecords({ jobId: JOB, segmentIndex: 0, totalSegments: 1, outputS3Uri: segmentOutputUri(OUT, JOB, 0), outputLocation: OUTPUT_LOCATION, now: T });

  it('has exactly upstream\'s attributes, numbers as numbers', () => {
    const item = invocationItem(row!);
    expect(item).toEqual({
      output_location: OUTPUT_LOCATION, job_id: JOB, segment_index: 0, total_segments: 1,
      output_s3_uri: `s3://${OUT}/jobs/${JOB}/segments/0.mp4`, created_at: T, ttl: T + 14_400,
    });
  });

  it('reads back, ours and upstream\'s alike', () => {
    expect(invocationFromItem(invocationItem(row!))).toEqual({ value: row, malformed: [] });
  });

  it('reads what it can of an odd row, null when it names no segment', () => {
    const item = invocationItem(row!);
    const stringy = invocationFromItem({ ...item, segment_index: '0', created_at: undefined });
    expect(stringy?.value).toMatchObject({ segmentIndex: 0, createdAt: 0 });
    expect(stringy?.malformed).toEqual(['segment_index', 'created_at']);
    for (const drop of ['output_location', 'job_id', 'segment_index', 'total_segments']) {
      expect(invocationFromItem({ ...item, [drop]: undefined })).toBeNull();
    }
    expect(invocationFromItem({ ...item, total_segments: 0 })).toBeNull();
    expect(invocationFromItem({ ...item, job_id: '' })).toBeNull();
  });
});

describe('siblingLocation (SageMaker names both results after the inference id)', () => {
  it('pairs a response with its failure and back', () => {
    expect(siblingLocation(OUTPUT_LOCATION)).toBe(FAILURE_LOCATION);
    expect(siblingLocation(FAILURE_LOCATION)).toBe(OUTPUT_LOCATION);
  });

  it('is null for any other shape', () => {
    for (const uri of [
      `s3://${OUT}/sagemaker-async-responses/x.json`, `s3://${OUT}/sagemaker-async-failures/x.out`, `s3://${OUT}/sagemaker-async-failures/-error.out`,
      `s3://${OUT}/sagemaker-async-responses/a/b.out`, `s3://${OUT}/jobs/j/final.mp4`, 'not a uri', `s3://${OUT}/sagemaker-async-responses/.out`,
    ]) expect(siblingLocation(uri)).toBeNull();
  });
});

describe('invocationTimeoutSeconds', () => {
  it('is min(setting, 3600) within the API\'s 1–3600', () => {
    expect(invocationTimeoutSeconds(3600)).toBe(3600);
    expect(invocationTimeoutSeconds(1200)).toBe(1200);
    expect(invocationTimeoutSeconds(86_400)).toBe(3600);
    expect(invocationTimeoutSeconds(0)).toBe(1);
    expect(invocationTimeoutSeconds(Number.NaN)).toBe(3600);
  });
});

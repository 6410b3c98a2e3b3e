import { describe, expect, it } from '@jest/globals';
import { asyncRequestKey, inferenceRequestJson } from '../../src/domain/stereo/inference-request.js';

describe('inferenceRequestJson (STEREO-SPOT.md "Messages")', () => {
  it('is the compact JSON of the three fields, in the contract order', () => {
    expect(inferenceRequestJson({ inputUri: 's3://in/segments/j/00000_00002_sbs.mp4', outputUri: 's3://out/jobs/j/segments/0.mp4', mode: 'sbs' }))
      .toBe('{"s3_input_uri":"s3://in/segments/j/00000_00002_sbs.mp4","s3_output_uri":"s3://out/jobs/j/segments/0.mp4","mode":"sbs"}');
  });

  it('takes nothing else from the request it is given', () => {
    const req = { inputUri: 's3://a/b', outputUri: 's3://c/d', mode: 'anaglyph' as const, signal: new AbortController().signal, extra: 1 };
    expect(JSON.parse(inferenceRequestJson(req))).toEqual({ s3_input_uri: 's3://a/b', s3_output_uri: 's3://c/d', mode: 'anaglyph' });
  });
});

describe('asyncRequestKey', () => {
  it.each([
    ['jobs/job-1/segments/0.mp4', 'jobs/job-1/segments/0.request.json'],
    ['jobs/job-1/segments/12345.mp4', 'jobs/job-1/segments/12345.request.json'],
    ['jobs/a.b/c/segments/3.mp4', 'jobs/a.b/c/segments/3.request.json'],
    ['jobs/a.b/segments/3', 'jobs/a.b/segments/3.request.json'],
    ['jobs/x/.mp4', 'jobs/x/.mp4.request.json'],
    ['out.mp4', 'out.request.json'],
  ])('%s → %s', (output, request) => {
    expect(asyncRequestKey(output)).toBe(request);
  });

  it('never equals the output key, so the request cannot overwrite the segment', () => {
    for (const key of ['jobs/j/segments/0.mp4', 'jobs/j/segments/0.request.json', 'x']) expect(asyncRequestKey(key)).not.toBe(key);
  });

  it.each(['', 'jobs/j/'])('refuses %j, which names no object', (key) => {
    expect(() => asyncRequestKey(key)).toThrow(RangeError);
  });
});

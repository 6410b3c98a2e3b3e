// Output-bucket keys and events of the b622b25 topology (STEREO-SPOT-MAIN.md §1.3, §4, §7),
// in every delivery form an S3-fed queue may see.
import { describe, expect, it } from '@jest/globals';
import { buildObjectCreatedEvent, encodeEventKey } from '../../src/domain/s3-event.js';
import {
  ASYNC_FAILURES_PREFIX, ASYNC_RESPONSES_PREFIX, finalKey, invocationRequestKey, invocationRequestsPrefix, jobOutputPrefix, parseOutputKey,
  reassemblyDoneKey, segmentOutputKey,
} from '../../src/domain/stereo/keys.js';
import { isAsyncResult, parseOutputEvents, type OutputEventsParse } from '../../src/domain/stereo/output-events.js';
import { parseS3Notification } from '../../src/domain/stereo/s3-notification.js';

const JOB = '3f2c1a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const OUT = 'stereo-spot-output-123456789012';

/** An S3 notification for one output-bucket object, as S3 sends it (key URL-encoded). */
function s3Body(key: string, bucket = OUT): string {
  return JSON.stringify(buildObjectCreatedEvent({ bucket, key, size: 10, eTag: 'e', region: 'eu-west-1', time: new Date(0), sequencer: '01', configurationId: 'job-status-segment-files' }));
}
/** The same through SNS without raw delivery. */
function snsEnvelope(message: string, type = 'Notification'): string {
  return JSON.stringify({
    Type: type, MessageId: 'a1b2', TopicArn: 'arn:aws:sns:eu-west-1:123456789012:stereo-spot-output-segment-files',
    Subject: 'Amazon S3 Notification', Message: message, Timestamp: '2026-02-27T10:00:00.000Z', SignatureVersion: '1',
  });
}
const events = (p: OutputEventsParse) => {
  if (p.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(p)}`);
  return p.events;
};

describe('output keys: builders', () => {
  it('are upstream\'s keys', () => {
    expect(segmentOutputKey(JOB, 12)).toBe(`jobs/${JOB}/segments/12.mp4`);
    expect(finalKey(JOB)).toBe(`jobs/${JOB}/final.mp4`);
    expect(reassemblyDoneKey(JOB)).toBe(`jobs/${JOB}/.reassembly-done`);
    expect(jobOutputPrefix(JOB)).toBe(`jobs/${JOB}/`);
    expect(invocationRequestKey(JOB, 3)).toBe(`sagemaker-invocation-requests/${JOB}/3.json`);
    expect(invocationRequestsPrefix(JOB)).toBe(`sagemaker-invocation-requests/${JOB}/`);
    expect(ASYNC_RESPONSES_PREFIX).toBe('sagemaker-async-responses/');
    expect(ASYNC_FAILURES_PREFIX).toBe('sagemaker-async-failures/');
  });

  it('refuse what no parser would take back', () => {
    expect(() => invocationRequestKey(JOB, -1)).toThrow(RangeError);
    expect(() => invocationRequestKey(JOB, 1.5)).toThrow(RangeError);
    expect(() => invocationRequestKey('', 0)).toThrow(RangeError);
    expect(() => reassemblyDoneKey('a/../b')).toThrow(RangeError);
  });

  it('parse back to what built them', () => {
    expect(parseOutputKey(segmentOutputKey(JOB, 0))).toEqual({ kind: 'segment-output', jobId: JOB, segmentIndex: 0 });
    expect(parseOutputKey(finalKey(JOB))).toEqual({ kind: 'final', jobId: JOB });
    expect(parseOutputKey(reassemblyDoneKey(JOB))).toEqual({ kind: 'reassembly-done', jobId: JOB });
    for (const id of ['a/b', 'job with space', 'ü-ñ']) {
      expect(parseOutputKey(segmentOutputKey(id, 7))).toEqual({ kind: 'segment-output', jobId: id, segmentIndex: 7 });
      expect(parseOutputKey(finalKey(id))).toEqual({ kind: 'final', jobId: id });
    }
  });
});

describe('parseOutputKey (parse_output_segment_key, job_status_events.py branches)', () => {
  it.each([
    // keys.py test_keys.py-style cases for parse_output_segment_key
    ['jobs/job-abc/segments/0.mp4', { kind: 'segment-output', jobId: 'job-abc', segmentIndex: 0 }],
    ['jobs/job-abc/segments/42.mp4', { kind: 'segment-output', jobId: 'job-abc', segmentIndex: 42 }],
    // int("007") is 7 upstream.
    ['jobs/job-abc/segments/007.mp4', { kind: 'segment-output', jobId: 'job-abc', segmentIndex: 7 }],
    [`jobs/${JOB}/final.mp4`, { kind: 'final', jobId: JOB }],
    [`jobs/${JOB}/.reassembly-done`, { kind: 'reassembly-done', jobId: JOB }],
    ['sagemaker-async-responses/7ee4e9fd-0e8f-4d6a-9f2b-123456789abc.out', { kind: 'async-response' }],
    ['sagemaker-async-failures/7ee4e9fd-0e8f-4d6a-9f2b-123456789abc-error.out', { kind: 'async-failure' }],
    // opaque: whatever SageMaker names them
    ['sagemaker-async-responses/any/thing', { kind: 'async-response' }],
  ])('%s', (key, expected) => {
    expect(parseOutputKey(key)).toEqual(expected);
  });

  it.each([
    ['jobs/job-abc/segments/0.mkv', /neither segments/],
    ['jobs/job-abc/segments/-1.mp4', /neither segments/],
    ['jobs/job-abc/segments/x.mp4', /neither segments/],
    ['jobs/job-abc/segments/0.MP4', /neither segments/],
    ['jobs/job-abc/segments/0.mp4.tmp', /neither segments/],
    // Python's \d is any Unicode digit; ours ASCII only (as for segment keys).
    ['jobs/job-abc/segments/٣.mp4', /neither segments/],
    ['jobs/job-abc/segments/100000.mp4', /not below 99999/],
    ['jobs/job-abc/other.mp4', /neither segments/],
    ['jobs/final.mp4', /neither segments/],
    ['jobs/job-abc/', /unsafe output key/],
    ['segments/job-abc/00000_00001_sbs.mp4', /not under "jobs\/"/],
    ['input/job-abc/source.mp4', /not under "jobs\/"/],
    ['sagemaker-async-responses/', /unsafe output key/],
    ['sagemaker-async-failures/', /unsafe output key/],
    [`sagemaker-invocation-requests/${JOB}/0.json`, /request object/],
    ['jobs/../x/final.mp4', /unsafe output key/],
    ['jobs/a\u0000b/final.mp4', /unsafe output key/],
    ['', /empty/],
  ])('%j is other', (key, reason) => {
    const p = parseOutputKey(key);
    expect(p.kind).toBe('other');
    expect(p.kind === 'other' ? p.reason : '').toMatch(reason);
  });

  it('takes the job id up to the known tail, where upstream takes the first path segment', () => {
    // Upstream completes job "a" for this key (parts[1]); it is job "a/b"'s final.mp4.
    expect(parseOutputKey('jobs/a/b/final.mp4')).toEqual({ kind: 'final', jobId: 'a/b' });
    expect(parseOutputKey('jobs/a/b/segments/3.mp4')).toEqual({ kind: 'segment-output', jobId: 'a/b', segmentIndex: 3 });
    // A final.mp4 inside a job's segments folder is not job "a"'s final.
    expect(parseOutputKey('jobs/a/segments/final.mp4')).toEqual({ kind: 'final', jobId: 'a/segments' });
  });
});

describe('parseS3Notification: the three delivery forms of an S3-fed queue (§1.3)', () => {
  const key = `jobs/${JOB}/segments/1.mp4`;
  const expected = [{ bucket: OUT, key, size: 10, eventName: 'ObjectCreated:Put' }];

  it('S3 → SQS and SNS raw delivery: the S3 JSON itself', () => {
    expect(parseS3Notification(s3Body(key))).toEqual({ kind: 'objects', objects: expected });
  });

  it('S3 → SNS → SQS without raw delivery: the envelope is unwrapped', () => {
    expect(parseS3Notification(snsEnvelope(s3Body(key)))).toEqual({ kind: 'objects', objects: expected });
  });

  it('the test event S3 sends to the topic, in its envelope', () => {
    const test = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-02-27T10:00:00.000Z', Bucket: OUT, RequestId: 'x', HostId: 'y' });
    expect(parseS3Notification(snsEnvelope(test))).toEqual({ kind: 'test' });
  });

  it('refuses what an envelope may carry that is no S3 event, saying what it is', () => {
    const reason = (body: string): string => {
      const n = parseS3Notification(body);
      return n.kind === 'invalid' ? n.reason : `not invalid: ${n.kind}`;
    };
    expect(reason(snsEnvelope('', 'SubscriptionConfirmation'))).toMatch(/SNS SubscriptionConfirmation, not an S3 event: confirm the queue's subscription to arn:aws:sns:/);
    expect(reason(snsEnvelope('not json'))).toMatch(/the SNS Message is not JSON/);
    expect(reason(snsEnvelope('[1]'))).toMatch(/the SNS Message is not a JSON object/);
    expect(reason(snsEnvelope('{"hello":1}'))).toMatch(/Records is missing/);
    expect(reason(JSON.stringify({ Type: 'Notification', TopicArn: 'arn:x', Message: 3 }))).toMatch(/no Message string/);
    expect(reason(JSON.stringify({ Type: 'Weird', TopicArn: 'arn:x', Message: '{}' }))).toMatch(/Type "Weird", not a Notification/);
  });

  it('leaves a body with a Type but no SNS fields alone (not an envelope)', () => {
    const body = JSON.stringify({ Type: 'Notification', ...JSON.parse(s3Body(key)) as object });
    expect(parseS3Notification(body).kind).toBe('objects');
  });
});

describe('parseOutputEvents', () => {
  it('classifies each object, its key decoded as S3 encodes it (unquote_plus)', () => {
    const key = 'jobs/job with space+plus/segments/3.mp4';
    const body = s3Body(key);
    expect(body).toContain(encodeEventKey(key));
    expect(body).toContain('jobs/job+with+space%2Bplus/segments/3.mp4');
    expect(events(parseOutputEvents(body))).toEqual([{
      bucket: OUT, key, uri: `s3://${OUT}/${key}`, target: { kind: 'segment-output', jobId: 'job with space+plus', segmentIndex: 3 },
    }]);
  });

  it('the same in an SNS envelope', () => {
    const [e] = events(parseOutputEvents(snsEnvelope(s3Body('sagemaker-async-failures/abc-error.out'))));
    expect(e).toMatchObject({ uri: `s3://${OUT}/sagemaker-async-failures/abc-error.out`, target: { kind: 'async-failure' } });
    expect(isAsyncResult(e!)).toBe(true);
  });

  it('tells async results from the rest', () => {
    const kinds = ['sagemaker-async-responses/a.out', 'sagemaker-async-failures/a-error.out', `jobs/${JOB}/segments/0.mp4`, `jobs/${JOB}/final.mp4`, 'x'];
    expect(kinds.map((k) => isAsyncResult(events(parseOutputEvents(s3Body(k)))[0]!))).toEqual([true, true, false, false, false]);
  });

  it('passes the test event and invalid bodies through; refuses another bucket when told the output bucket', () => {
    expect(parseOutputEvents(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))).toEqual({ kind: 'test' });
    expect(parseOutputEvents('nope').kind).toBe('invalid');
    const other = parseOutputEvents(s3Body(`jobs/${JOB}/final.mp4`, 'someone-else'), { bucket: { name: OUT, setting: 'OUTPUT_BUCKET_NAME' } });
    expect(other.kind === 'invalid' ? other.reason : '').toMatch(/is not OUTPUT_BUCKET_NAME/);
    const slash = parseOutputEvents(JSON.stringify({ Records: [{ s3: { bucket: { name: 'a/b' }, object: { key: 'k' } } }] }));
    expect(slash.kind === 'invalid' ? slash.reason : '').toMatch(/holds a "\/"/);
  });
});

import { describe, expect, it } from '@jest/globals';
import { buildObjectCreatedEvent } from '../../src/domain/s3-event.js';
import { parseInputKey, parseSegmentKey } from '../../src/domain/stereo/keys.js';
import { parseS3Notification } from '../../src/domain/stereo/s3-notification.js';
import type { S3Notification } from '../../src/domain/stereo/s3-notification.js';

/** The minimal body upstream's tests use: no eventSource, no eventName, no size. */
const upstreamBody = (bucket: unknown, key: unknown): string => JSON.stringify({ Records: [{ s3: { bucket: { name: bucket }, object: { key } } }] });

const objects = (n: S3Notification) => {
  if (n.kind !== 'objects') throw new Error(`expected objects, got ${JSON.stringify(n)}`);
  return n.objects;
};
const reason = (n: S3Notification): string => {
  if (n.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(n)}`);
  return n.reason;
};

// Ported from stereo-spot ecba15e packages/media-worker/tests/test_s3_event.py (the chunking
// queue). Upstream's parser also checks the key is an input key; here that is parseInputKey's.
describe('chunking queue bodies (media-worker test_s3_event.py)', () => {
  it('test_parse_valid_s3_event_input_key', () => {
    const [o] = objects(parseS3Notification(upstreamBody('input-bucket', 'input/job-abc/source.mp4')));
    expect(o).toEqual({ bucket: 'input-bucket', key: 'input/job-abc/source.mp4', size: null, eventName: null });
    expect(parseInputKey(o!.key)).toEqual({ ok: true, jobId: 'job-abc' });
  });

  it('test_parse_s3_event_bytes_body (SQS bodies are strings here)', () => {
    const [o] = objects(parseS3Notification(Buffer.from(upstreamBody('b', 'input/xyz/source.mp4'), 'utf8').toString('utf8')));
    expect(o).toMatchObject({ bucket: 'b', key: 'input/xyz/source.mp4' });
  });

  it('test_parse_s3_event_rejects_non_input_key', () => {
    const [o] = objects(parseS3Notification(upstreamBody('input-bucket', 'segments/job-abc/00000_00001_anaglyph.mp4')));
    expect(parseInputKey(o!.key).ok).toBe(false);
  });

  it('test_parse_s3_event_invalid_json_returns_none', () => {
    expect(reason(parseS3Notification('not json'))).toMatch(/body is not JSON/);
    expect(reason(parseS3Notification(''))).toMatch(/body is not JSON/);
  });

  it('test_parse_s3_event_empty_records_returns_none', () => {
    expect(reason(parseS3Notification('{"Records": []}'))).toBe('not an S3 event notification: Records is empty');
    expect(reason(parseS3Notification('{}'))).toBe('not an S3 event notification: Records is missing or not an array');
  });

  it('test_parse_s3_event_malformed_record_returns_none', () => {
    expect(reason(parseS3Notification('{"Records": [{"s3": {"bucket": {}, "object": {}}}]}'))).toMatch(/Records\[0\]\.s3\.bucket\.name is missing/);
  });
});

// Ported from packages/video-worker/tests/test_s3_event.py (the video-worker queue).
describe('video-worker queue bodies (video-worker test_s3_event.py)', () => {
  it('test_parse_valid_s3_event_segment_key', () => {
    const [o] = objects(parseS3Notification(upstreamBody('input-bucket', 'segments/job-abc/00042_00100_anaglyph.mp4')));
    expect(parseSegmentKey(o!.bucket, o!.key)).toEqual({
      ok: true,
      payload: {
        jobId: 'job-abc', segmentIndex: 42, totalSegments: 100, mode: 'anaglyph',
        segmentS3Uri: 's3://input-bucket/segments/job-abc/00042_00100_anaglyph.mp4',
      },
    });
  });

  it('test_parse_s3_event_rejects_input_key', () => {
    const [o] = objects(parseS3Notification(upstreamBody('input-bucket', 'input/job-abc/source.mp4')));
    expect(parseSegmentKey(o!.bucket, o!.key).ok).toBe(false);
  });

  it('test_parse_s3_event_invalid_json_returns_none', () => {
    expect(parseS3Notification('not json').kind).toBe('invalid');
  });

  it('test_parse_s3_event_empty_records_returns_none', () => {
    expect(parseS3Notification(JSON.stringify({ Records: [] })).kind).toBe('invalid');
  });

  it('test_parse_s3_event_accepts_url_encoded_key', () => {
    const [o] = objects(parseS3Notification(upstreamBody('input-bucket', 'segments%2Fjob-xyz%2F00000_00001_sbs.mp4')));
    expect(o!.key).toBe('segments/job-xyz/00000_00001_sbs.mp4');
    const r = parseSegmentKey(o!.bucket, o!.key);
    expect(r).toEqual({
      ok: true,
      payload: { jobId: 'job-xyz', segmentIndex: 0, totalSegments: 1, mode: 'sbs', segmentS3Uri: 's3://input-bucket/segments/job-xyz/00000_00001_sbs.mp4' },
    });
  });
});

describe('what S3 actually sends', () => {
  const s3Body = (key: string, eventName = 'ObjectCreated:Put', size = 5_000_000): string => JSON.stringify({
    Records: [{
      eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'us-east-1', eventTime: '2026-02-17T10:00:00.000Z', eventName,
      userIdentity: { principalId: 'AWS:AIDA' }, requestParameters: { sourceIPAddress: '10.0.0.1' },
      responseElements: { 'x-amz-request-id': 'R', 'x-amz-id-2': 'I' },
      s3: {
        s3SchemaVersion: '1.0', configurationId: 'tf-s3-queue-1',
        bucket: { name: 'stereo-spot-input', ownerIdentity: { principalId: 'A' }, arn: 'arn:aws:s3:::stereo-spot-input' },
        object: { key, size, eTag: 'e', sequencer: '0065' },
      },
    }],
  });

  it('reads bucket, decoded key, size and event name', () => {
    expect(parseS3Notification(s3Body('input/my+job%2Bx/source.mp4'))).toEqual({
      kind: 'objects',
      objects: [{ bucket: 'stereo-spot-input', key: 'input/my job+x/source.mp4', size: 5_000_000, eventName: 'ObjectCreated:Put' }],
    });
  });

  it.each(['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload'])('takes %s', (eventName) => {
    expect(objects(parseS3Notification(s3Body('k', eventName)))[0]!.eventName).toBe(eventName);
  });

  it.each(['ObjectRemoved:Delete', 'ObjectRemoved:DeleteMarkerCreated', 'ObjectRestore:Completed', 'LifecycleExpiration:Delete', 'objectcreated:put', ''])(
    'refuses a %j record: not work for these queues', (eventName) => {
      expect(reason(parseS3Notification(s3Body('k', eventName)))).toMatch(/Records\[0\]\.eventName is not an ObjectCreated event/);
    },
  );

  it('refuses another event source', () => {
    const body = JSON.stringify({ Records: [{ eventSource: 'aws:sqs', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }] });
    expect(reason(parseS3Notification(body))).toMatch(/Records\[0\]\.eventSource is not "aws:s3"/);
  });

  it('decodes keys as S3 encodes them: + is a space, %2B a plus, %XX UTF-8', () => {
    const key = (encoded: string) => objects(parseS3Notification(upstreamBody('b', encoded)))[0]!.key;
    expect(key('a+b')).toBe('a b');
    expect(key('a%2Bb')).toBe('a+b');
    expect(key('a%20b')).toBe('a b');
    expect(key('%C3%A9%F0%9F%8F%89')).toBe('é🏉');
    expect(key('segments%2fj%2f00000_00001_sbs.mp4')).toBe('segments/j/00000_00001_sbs.mp4');
    expect(key('100%25')).toBe('100%');
  });

  it('round-trips what the fs store emits (s3-event.ts buildObjectCreatedEvent)', () => {
    const raw = 'segments/job (1)+x é/00003_00010_sbs.mp4';
    const event = buildObjectCreatedEvent({
      bucket: 'in', key: raw, size: 42, eTag: '"abc"', region: 'local', time: new Date(0), sequencer: '01',
    });
    expect(parseS3Notification(JSON.stringify(event))).toEqual({
      kind: 'objects', objects: [{ bucket: 'in', key: raw, size: 42, eventName: 'ObjectCreated:Put' }],
    });
  });

  it('returns every record, and refuses the body if any record is bad', () => {
    const two = JSON.stringify({ Records: [
      { s3: { bucket: { name: 'b' }, object: { key: 'k1', size: 1 } } },
      { s3: { bucket: { name: 'b' }, object: { key: 'k2', size: 2 } } },
    ] });
    expect(objects(parseS3Notification(two)).map((o) => o.key)).toEqual(['k1', 'k2']);
    const bad = JSON.stringify({ Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'k1' } } }, { s3: { bucket: { name: '' }, object: { key: 'k' } } }] });
    expect(reason(parseS3Notification(bad))).toMatch(/Records\[1\]\.s3\.bucket\.name is empty/);
  });
});

describe('a queue that takes one bucket\'s events (segment-infer: INPUT_BUCKET_NAME)', () => {
  const input = { bucket: { name: 'stereo-input', setting: 'INPUT_BUCKET_NAME' } };
  const key = 'segments/j/00000_00001_sbs.mp4';

  it('takes a record of that bucket', () => {
    expect(objects(parseS3Notification(upstreamBody('stereo-input', key), input))).toEqual([{ bucket: 'stereo-input', key, size: null, eventName: null }]);
  });

  it('refuses a record naming any other bucket, saying which and which it takes', () => {
    expect(reason(parseS3Notification(upstreamBody('private-backups', key), input)))
      .toBe('Records[0].s3.bucket.name "private-backups" is not INPUT_BUCKET_NAME ("stereo-input"): this queue takes events of that bucket only');
    // Case matters in S3 bucket names; a second record from elsewhere spoils the body too.
    expect(reason(parseS3Notification(upstreamBody('Stereo-Input', key), input))).toMatch(/^Records\[0\]\.s3\.bucket\.name "Stereo-Input" is not INPUT_BUCKET_NAME/);
    const mixed = JSON.stringify({ Records: [{ s3: { bucket: { name: 'stereo-input' }, object: { key } } }, { s3: { bucket: { name: 'other' }, object: { key } } }] });
    expect(reason(parseS3Notification(mixed, input))).toMatch(/^Records\[1\]\.s3\.bucket\.name "other" is not INPUT_BUCKET_NAME/);
  });

  it('clips a long name in the reason', () => {
    expect(reason(parseS3Notification(upstreamBody('x'.repeat(5000), key), input)).length).toBeLessThan(200);
  });

  it('still sees the s3:TestEvent for what it is', () => {
    expect(parseS3Notification(JSON.stringify({ Event: 's3:TestEvent', Bucket: 'stereo-input' }), input)).toEqual({ kind: 'test' });
  });
});

describe('the s3:TestEvent', () => {
  it('is recognised, not an error', () => {
    const body = JSON.stringify({
      Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-02-17T10:00:00.000Z', Bucket: 'stereo-spot-input',
      RequestId: '5582815E1AEA5ADF', HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
    });
    expect(parseS3Notification(body)).toEqual({ kind: 'test' });
  });
});

describe('invalid bodies', () => {
  it.each([
    ['an array', '[]', /body is not a JSON object/],
    ['null', 'null', /body is not a JSON object/],
    ['a number', '3', /body is not a JSON object/],
    ['a string', '"Records"', /body is not a JSON object/],
    ['Records not an array', '{"Records": {}}', /Records is missing or not an array/],
    ['a record not an object', '{"Records": [1]}', /Records\[0\] is not an object/],
    ['no s3', '{"Records": [{}]}', /Records\[0\]\.s3 is missing or not an object/],
    ['no bucket', upstreamBody(undefined, 'k'), /Records\[0\]\.s3\.bucket\.name is missing/],
    ['an empty bucket', upstreamBody('', 'k'), /Records\[0\]\.s3\.bucket\.name is empty/],
    ['a bucket not a string', upstreamBody(7, 'k'), /Records\[0\]\.s3\.bucket\.name is missing or not a string/],
    ['no key', upstreamBody('b', undefined), /Records\[0\]\.s3\.object\.key is missing/],
    ['an empty key', upstreamBody('b', ''), /Records\[0\]\.s3\.object\.key is empty/],
    ['a key not a string', upstreamBody('b', ['k']), /Records\[0\]\.s3\.object\.key is missing or not a string/],
    ['a negative size', JSON.stringify({ Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'k', size: -1 } } }] }), /size is not a byte count/],
    ['a fractional size', JSON.stringify({ Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'k', size: 1.5 } } }] }), /size is not a byte count/],
    ['a string size', JSON.stringify({ Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'k', size: '1' } } }] }), /size is not a number/],
    ['a stray %', upstreamBody('b', 'a%zz'), /key is not valid URL encoding/],
    ['cut-short UTF-8', upstreamBody('b', '%E0%A4%A'), /key is not valid URL encoding/],
    // An SNS envelope is unwrapped now (STEREO-SPOT-MAIN.md §1.3): stereo-output-events.test.ts.
  ])('%s', (_name, body, why) => {
    const n = parseS3Notification(body);
    expect(n.kind).toBe('invalid');
    expect(reason(n)).toMatch(why);
    expect(reason(n)).toMatch(/^not an S3 event notification: /);
  });
});

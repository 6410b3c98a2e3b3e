import { describe, expect, it } from '@jest/globals';
import { S3EventParseError, buildObjectCreatedEvent, decodeEventKey, encodeEventKey, parseS3Event } from '../../src/domain/s3-event.js';

const input = {
  bucket: 'media',
  key: 'orgs/o1/uploads/42/raw/My Match (final)+1.mp4',
  size: 1234,
  eTag: '"0123456789abcdef0123456789abcdef"',
  region: 'eu-west-1',
  time: new Date('2026-03-01T12:34:56.789Z'),
  sequencer: '0062B9C1D2E3F40001',
};

describe('buildObjectCreatedEvent', () => {
  it('has the exact shape of an S3 bucket notification', () => {
    expect(buildObjectCreatedEvent(input)).toEqual({
      Records: [{
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'eu-west-1',
        eventTime: '2026-03-01T12:34:56.789Z',
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'rugbyworker-local' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': '0062B9C1D2E3F40001', 'x-amz-id-2': '0062B9C1D2E3F40001' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'rugbyworker-fs',
          bucket: { name: 'media', ownerIdentity: { principalId: 'rugbyworker-local' }, arn: 'arn:aws:s3:::media' },
          object: {
            key: 'orgs/o1/uploads/42/raw/My+Match+%28final%29%2B1.mp4',
            size: 1234,
            eTag: '0123456789abcdef0123456789abcdef',
            sequencer: '0062B9C1D2E3F40001',
          },
        },
      }],
    });
  });

  it('round-trips through JSON and parseS3Event', () => {
    const body = JSON.stringify(buildObjectCreatedEvent(input));
    expect(parseS3Event(body)).toEqual([{ bucket: 'media', key: input.key, size: 1234, eventName: 'ObjectCreated:Put' }]);
  });
});

describe('event key encoding', () => {
  it.each([
    ['red flower.jpg', 'red+flower.jpg'],
    ['a/b/c.mp4', 'a/b/c.mp4'],
    ['a+b', 'a%2Bb'],
    ['x=y&z?#', 'x%3Dy%26z%3F%23'],
    ["it's (1)!~*", 'it%27s+%281%29%21%7E*'],
    ['_-.', '_-.'],
    ['é/🏉', '%C3%A9/%F0%9F%8F%89'],
    ['100%', '100%25'],
  ])('%j ⇄ %j', (raw, encoded) => {
    expect(encodeEventKey(raw)).toBe(encoded);
    expect(decodeEventKey(encoded)).toBe(raw);
  });

  it('decodes %20 as well as + (other producers use either)', () => {
    expect(decodeEventKey('a%20b+c')).toBe('a b c');
  });
});

describe('parseS3Event', () => {
  const record = (key: string, size?: number, eventName = 'ObjectCreated:Put'): unknown => ({
    eventSource: 'aws:s3', eventName, s3: { bucket: { name: 'b' }, object: { key, ...(size === undefined ? {} : { size }) } },
  });

  it('returns every record, decoded, from a string or a parsed body', () => {
    const event = { Records: [record('a/one+1.mp4', 10), record('b/two.mp4', 20, 'ObjectCreated:CompleteMultipartUpload')] };
    const want = [
      { bucket: 'b', key: 'a/one 1.mp4', size: 10, eventName: 'ObjectCreated:Put' },
      { bucket: 'b', key: 'b/two.mp4', size: 20, eventName: 'ObjectCreated:CompleteMultipartUpload' },
    ];
    expect(parseS3Event(JSON.stringify(event))).toEqual(want);
    expect(parseS3Event(event)).toEqual(want);
  });

  it('unwraps an SNS envelope', () => {
    const sns = { Type: 'Notification', MessageId: 'm', Message: JSON.stringify({ Records: [record('k', 1)] }) };
    expect(parseS3Event(JSON.stringify(sns))).toEqual([{ bucket: 'b', key: 'k', size: 1, eventName: 'ObjectCreated:Put' }]);
  });

  it('gives [] for the s3:TestEvent S3 sends when a notification is set up', () => {
    expect(parseS3Event('{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00.000Z","Bucket":"b"}')).toEqual([]);
  });

  it('takes size 0 for delete events, which carry none', () => {
    expect(parseS3Event({ Records: [record('k', undefined, 'ObjectRemoved:Delete')] })).toEqual([{ bucket: 'b', key: 'k', size: 0, eventName: 'ObjectRemoved:Delete' }]);
  });

  it.each([
    ['not JSON', '{nope', /body is not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no Records', '{"foo":1}', /no "Records" array/],
    ['a record that is not an object', '{"Records":[1]}', /Records\[0\] is not an object/],
    ['another source', JSON.stringify({ Records: [{ eventSource: 'aws:sqs' }] }), /eventSource is not "aws:s3"/],
    ['no bucket', JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'x', s3: { object: { key: 'k' } } }] }), /bucket.name is missing/],
    ['no key', JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'x', s3: { bucket: { name: 'b' }, object: {} } }] }), /object.key is missing/],
    ['a negative size', JSON.stringify({ Records: [record('k', -1)] }), /size is not a byte count/],
    ['bad URL encoding', JSON.stringify({ Records: [record('%E0%A4%A', 1)] }), /not valid URL encoding/],
  ])('refuses %s with a clear message', (_name, body, message) => {
    expect(() => parseS3Event(body)).toThrow(S3EventParseError);
    expect(() => parseS3Event(body)).toThrow(message);
  });
});

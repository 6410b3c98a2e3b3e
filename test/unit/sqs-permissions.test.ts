import { describe, expect, it } from '@jest/globals';
import { CONSUMER_PERMISSIONS, permissionName, permissionNeed, probeVerdict } from '../../src/domain/sqs-permissions.js';
import { siblingQueueUrl } from '../../src/adapters/queue/sqs-parse.js';
import { allows, iamAction, queueOf } from '../helpers/sqs-policy-proxy.js';

const answered = (name: string, status = 400) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('the SQS permissions of a consumer', () => {
  it('only Receive, Delete and ChangeVisibility on the queue are required: the Python worker\'s set', () => {
    expect(CONSUMER_PERMISSIONS.filter((p) => p.required).map((p) => `${p.action} ${p.on}`))
      .toEqual(['ReceiveMessage queue', 'DeleteMessage queue', 'ChangeMessageVisibility queue']);
    expect(permissionNeed('SendMessage', 'dlq').cost).toMatch(/left to the queue's redrive policy/);
    expect(permissionNeed('GetQueueAttributes', 'queue').cost).toMatch(/SQS_ASSUMED_MAX_RECEIVE_COUNT/);
    expect(() => permissionNeed('GetQueueUrl', 'queue')).toThrow(/no such consumer permission/);
    expect(permissionName('GetQueueAttributes', 'transcode')).toBe('sqs:GetQueueAttributes on transcode');
  });

  it('a probe: AccessDenied is missing; the service rejecting the request after authorising it is present; no answer tells nothing', () => {
    expect(probeVerdict(undefined)).toBe('present');
    expect(probeVerdict(answered('AccessDenied'))).toBe('missing');
    expect(probeVerdict(Object.assign(new Error('x'), { name: 'SqsError', Code: 'AccessDenied' }))).toBe('missing');
    expect(probeVerdict(answered('ReceiptHandleIsInvalid'))).toBe('present');
    expect(probeVerdict(answered('MessageNotInflight'))).toBe('present');
    expect(probeVerdict(answered('InvalidParameterValue'))).toBe('present');
    expect(probeVerdict(answered('InvalidMessageContents'))).toBe('present');
    expect(probeVerdict(answered('InvalidClientTokenId', 403))).toBe('unknown');
    expect(probeVerdict(answered('QueueDoesNotExist'))).toBe('unknown');
    expect(probeVerdict(answered('InternalError', 500))).toBe('unknown');
    expect(probeVerdict(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('unknown');
  });

  it('a DLQ\'s URL made from its queue\'s: same endpoint and account, the name changed', () => {
    expect(siblingQueueUrl('https://sqs.us-east-1.amazonaws.com/123456789012/transcode', 'transcode-dlq'))
      .toBe('https://sqs.us-east-1.amazonaws.com/123456789012/transcode-dlq');
    expect(siblingQueueUrl('http://127.0.0.1:4566/000000000000/q/', 'd')).toBe('http://127.0.0.1:4566/000000000000/d');
  });
});

describe('the SQS policy proxy\'s reading of a request (test/helpers/sqs-policy-proxy.ts)', () => {
  it('batch calls are authorised as the single call; the queue comes from QueueUrl, QueueName or an ARN', () => {
    expect(iamAction('AmazonSQS.DeleteMessageBatch')).toBe('DeleteMessage');
    expect(iamAction('AmazonSQS.ChangeMessageVisibilityBatch')).toBe('ChangeMessageVisibility');
    expect(iamAction('AmazonSQS.ReceiveMessage')).toBe('ReceiveMessage');
    expect(iamAction('DynamoDB_20120810.GetItem')).toBe('');
    expect(queueOf({ QueueUrl: 'http://127.0.0.1:1/000000000000/transcode' })).toBe('transcode');
    expect(queueOf({ QueueName: 'transcode-dlq' })).toBe('transcode-dlq');
    expect(queueOf({ SourceArn: 'arn:aws:sqs:us-east-1:1:transcode-dlq' })).toBe('transcode-dlq');
    expect(allows({ transcode: ['ReceiveMessage'] }, 'ReceiveMessage', 'transcode')).toBe(true);
    expect(allows({ transcode: ['ReceiveMessage'] }, 'SendMessage', 'transcode')).toBe(false);
    expect(allows({ transcode: ['ReceiveMessage'] }, 'ReceiveMessage', 'other')).toBe(false);
    expect(allows({ '*': '*' }, 'PurgeQueue', 'any')).toBe(true);
  });
});

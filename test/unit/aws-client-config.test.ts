import { describe, expect, it } from '@jest/globals';
import { awsOptions, mediaStorageOptions } from '../../src/adapters/aws/client-config.js';
import { loadConfig } from '../../src/runtime/config/load.js';

const config = (env: Record<string, string>) => loadConfig({ env });

describe('awsOptions for SageMaker runtime', () => {
  it('takes SAGEMAKER_REGION, else AWS_REGION', () => {
    expect(awsOptions(config({ AWS_REGION: 'eu-west-1', SAGEMAKER_REGION: 'us-west-2' }), 'sagemaker-runtime', {}).region).toBe('us-west-2');
    expect(awsOptions(config({ AWS_REGION: 'eu-west-1' }), 'sagemaker-runtime', {}).region).toBe('eu-west-1');
    expect(awsOptions(config({ AWS_REGION: 'eu-west-1', SAGEMAKER_REGION: 'us-west-2' }), 's3', {}).region).toBe('eu-west-1');
  });

  it('takes AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME from the environment over AWS_ENDPOINT_URL, as the AWS SDK does', () => {
    const c = config({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
    expect(awsOptions(c, 'sagemaker-runtime', { AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: 'http://127.0.0.1:8080' }).endpoint).toBe('http://127.0.0.1:8080');
    expect(awsOptions(c, 'sagemaker-runtime', {}).endpoint).toBe('http://127.0.0.1:4566');
    expect(awsOptions(config({}), 'sagemaker-runtime', {}).endpoint).toBeUndefined();
    // Another service's variable is not SageMaker's.
    expect(awsOptions(config({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }), 'sagemaker-runtime', {}).endpoint).toBeUndefined();
  });
});

describe('request timeouts (a dead connection fails instead of hanging)', () => {
  it('SQS waits out its long poll plus 10 s; S3 and DynamoDB have finite idle limits; Wasabi too', () => {
    expect(awsOptions(config({ SQS_LONG_POLL_WAIT_SECONDS: '20' }), 'sqs', {}).requestHandler).toEqual({ connectionTimeout: 5000, requestTimeout: 30_000, throwOnRequestTimeout: true });
    expect(awsOptions(config({ SQS_LONG_POLL_WAIT_SECONDS: '1' }), 'sqs', {}).requestHandler?.requestTimeout).toBe(11_000);
    expect(awsOptions(config({}), 's3', {}).requestHandler).toEqual({ connectionTimeout: 5000, requestTimeout: 60_000, throwOnRequestTimeout: true });
    expect(awsOptions(config({}), 'dynamodb', {}).requestHandler).toEqual({ connectionTimeout: 5000, requestTimeout: 15_000, throwOnRequestTimeout: true });
    const wasabi = mediaStorageOptions(config({ WASABI_ENDPOINT: 'https://s3.wasabisys.com', WASABI_KEY: 'k', WASABI_SECRET: 's' }));
    expect(wasabi.requestHandler).toEqual({ connectionTimeout: 5000, requestTimeout: 60_000, throwOnRequestTimeout: true });
    // SageMaker's client sets its own (inference can take minutes).
    expect(awsOptions(config({}), 'sagemaker-runtime', {}).requestHandler).toBeUndefined();
  });
});

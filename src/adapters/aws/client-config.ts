// One place that turns settings into AWS SDK client options, so every adapter and the
// doctor agree on endpoints, credentials and path style.
import type { Config } from '../../runtime/config/schema.js';

export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

export type AwsService = 'sqs' | 's3' | 'dynamodb';

const SERVICE_ENDPOINT = { sqs: 'AWS_ENDPOINT_URL_SQS', s3: 'AWS_ENDPOINT_URL_S3', dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB' } as const;

/**
 * SQS, DynamoDB and the stereo buckets: AWS, or the endpoint the AWS SDK itself would take
 * from the environment: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL.
 */
export function awsOptions(config: Config, service: AwsService): AwsClientOptions {
  const endpoint = config[SERVICE_ENDPOINT[service]] || config.AWS_ENDPOINT_URL;
  return {
    region: config.AWS_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(config.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY } } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE || Boolean(endpoint),
  };
}

/** The RugbyCodex media bucket: Wasabi when WASABI_ENDPOINT is set, else as awsOptions. */
export function mediaStorageOptions(config: Config): AwsClientOptions {
  if (!config.WASABI_ENDPOINT) return awsOptions(config, 's3');
  return {
    region: config.WASABI_REGION,
    endpoint: config.WASABI_ENDPOINT,
    credentials: { accessKeyId: config.WASABI_KEY, secretAccessKey: config.WASABI_SECRET },
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  };
}

// One place that turns settings into AWS SDK client options, so every adapter and the
// doctor agree on endpoints, credentials and path style.
import type { Config } from '../../runtime/config/schema.js';
import { requestTimeouts } from '../../domain/request-timeouts.js';
import type { RequestTimeouts } from '../../domain/request-timeouts.js';

export interface AwsClientOptions {
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
  /** The SDK's NodeHttpHandler options: a dead connection fails instead of hanging. */
  requestHandler?: RequestTimeouts;
}

export type AwsService = 'sqs' | 's3' | 'dynamodb' | 'sagemaker-runtime';

const SERVICE_ENDPOINT = { sqs: 'AWS_ENDPOINT_URL_SQS', s3: 'AWS_ENDPOINT_URL_S3', dynamodb: 'AWS_ENDPOINT_URL_DYNAMODB' } as const;

/**
 * SQS, DynamoDB, the stereo buckets and SageMaker runtime: AWS, or the endpoint the AWS SDK
 * itself would take from the environment: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL.
 * SageMaker runtime's variable is no setting of ours, so it is read from `env` as the SDK does.
 */
export function awsOptions(config: Config, service: AwsService, env: Readonly<Record<string, string | undefined>> = process.env): AwsClientOptions {
  const own = service === 'sagemaker-runtime' ? env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME : config[SERVICE_ENDPOINT[service]];
  const endpoint = own || config.AWS_ENDPOINT_URL;
  return {
    region: service === 'sagemaker-runtime' ? config.SAGEMAKER_REGION || config.AWS_REGION : config.AWS_REGION,
    ...(endpoint ? { endpoint } : {}),
    ...(config.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY } } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE || Boolean(endpoint),
    ...(service === 'sagemaker-runtime' ? {} : { requestHandler: requestTimeouts(service, config.SQS_LONG_POLL_WAIT_SECONDS) }),
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
    requestHandler: requestTimeouts('s3'),
  };
}

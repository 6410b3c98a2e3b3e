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

/** SQS, DynamoDB and the stereo buckets: AWS, or AWS_ENDPOINT_URL when set. */
export function awsOptions(config: Config): AwsClientOptions {
  return {
    region: config.AWS_REGION,
    ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
    ...(config.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: config.AWS_ACCESS_KEY_ID, secretAccessKey: config.AWS_SECRET_ACCESS_KEY } } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE || Boolean(config.AWS_ENDPOINT_URL),
  };
}

/** The RugbyCodex media bucket: Wasabi when WASABI_ENDPOINT is set, else as awsOptions. */
export function mediaStorageOptions(config: Config): AwsClientOptions {
  if (!config.WASABI_ENDPOINT) return awsOptions(config);
  return {
    region: config.WASABI_REGION,
    endpoint: config.WASABI_ENDPOINT,
    credentials: { accessKeyId: config.WASABI_KEY, secretAccessKey: config.WASABI_SECRET },
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  };
}

// The reassembly-trigger Lambda's environment: the four variables upstream's Terraform sets
// on the Python function (stereo-spot ecba15e, packages/aws-infra/lambda.tf), AWS_REGION
// (the Lambda runtime sets it) and the endpoint overrides the rest of rugbyworker reads
// (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL), which point it at local servers.
export interface LambdaSettings {
  jobsTable: string;
  segmentCompletionsTable: string;
  reassemblyTriggeredTable: string;
  reassemblyQueueUrl: string;
  region: string;
  dynamodbEndpoint: string | undefined;
  sqsEndpoint: string | undefined;
}

const REQUIRED = ['JOBS_TABLE_NAME', 'SEGMENT_COMPLETIONS_TABLE_NAME', 'REASSEMBLY_TRIGGERED_TABLE_NAME', 'REASSEMBLY_QUEUE_URL', 'AWS_REGION'] as const;

/** Reads the settings; one Error naming every required variable that is missing or empty. */
export function lambdaSettings(env: NodeJS.ProcessEnv): LambdaSettings {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set: the reassembly-trigger Lambda needs ${missing.length === 1 ? 'it' : 'them'}`);
  const value = (name: (typeof REQUIRED)[number]): string => env[name] as string;
  return {
    jobsTable: value('JOBS_TABLE_NAME'),
    segmentCompletionsTable: value('SEGMENT_COMPLETIONS_TABLE_NAME'),
    reassemblyTriggeredTable: value('REASSEMBLY_TRIGGERED_TABLE_NAME'),
    reassemblyQueueUrl: value('REASSEMBLY_QUEUE_URL'),
    region: value('AWS_REGION'),
    dynamodbEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || undefined,
    sqsEndpoint: env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL || undefined,
  };
}

// The trigger's ports for the Lambda: the DynamoDB PipelineDb and the SQS reassembly queue,
// made once per container (Lambda reuses a warm container's module state, and with it the
// clients' connections).
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { DynamoDbPipelineDb, createDynamoDbClient } from '../adapters/db/dynamodb-pipeline.js';
import { SqsQueue } from '../adapters/queue/sqs.js';
import type { PipelineDb, Queue } from '../ports/index.js';
import type { LambdaSettings } from './settings.js';

export interface TriggerPorts {
  db: PipelineDb;
  reassembly: Queue;
}

let made: { key: string; ports: TriggerPorts } | undefined;

/** The ports for `settings`, the same object on every call with the same settings. */
export function triggerPorts(settings: LambdaSettings, logger: Logger): TriggerPorts {
  const key = JSON.stringify(settings);
  if (made?.key === key) return made.ports;
  // No explicit credentials: the SDK's default chain reads the role's session from the
  // environment Lambda sets (AWS_SESSION_TOKEN included).
  const db = new DynamoDbPipelineDb({
    client: createDynamoDbClient({ region: settings.region, endpoint: settings.dynamodbEndpoint }),
    tables: { jobs: settings.jobsTable, segmentCompletions: settings.segmentCompletionsTable, reassemblyTriggered: settings.reassemblyTriggeredTable },
    logger,
  });
  // Constructed, not SqsQueue.open(): that reads the RedrivePolicy, and the function's role
  // may only sqs:SendMessage. With an endpoint every call goes there (emulators hand out
  // queue URLs whose host need not resolve), as createSqsClient does.
  const sqs = new SQSClient({ region: settings.region, endpoint: settings.sqsEndpoint, useQueueUrlAsEndpoint: settings.sqsEndpoint === undefined });
  const ports = { db, reassembly: new SqsQueue({ client: sqs, queueUrl: settings.reassemblyQueueUrl, logger }) };
  made = { key, ports };
  return ports;
}

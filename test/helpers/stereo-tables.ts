// The stereo pipeline's three DynamoDB tables exactly as upstream's Terraform defines them
// (alexpialetski/stereo-spot@ecba15e packages/aws-infra/dynamodb.tf): keys, attribute
// types, both GSIs on Jobs with projection ALL, on-demand billing, the SegmentCompletions
// stream (NEW_AND_OLD_IMAGES) and the ReassemblyTriggered TTL on `ttl`.
//
// What dynalite 4.0.0 (the test server) does not do of that:
// - TTL: it has no UpdateTimeToLive (UnknownOperationException) and never expires items;
//   DescribeTimeToLive always answers DISABLED. createStereoTables asks for TTL and goes on
//   without it where the server does not know the operation.
// - Streams: it drops StreamSpecification without a word; the table has no stream, so
//   nothing here can feed the trigger Lambda (tests call its handler with batches they build).
import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface StereoTableNames {
  jobs: string;
  segmentCompletions: string;
  reassemblyTriggered: string;
}

/** Terraform's names: `${prefix}-jobs` and so on (its prefix defaults to `stereo-spot`). */
export function stereoTableNames(prefix = 'stereo-spot'): StereoTableNames {
  return { jobs: `${prefix}-jobs`, segmentCompletions: `${prefix}-segment-completions`, reassemblyTriggered: `${prefix}-reassembly-triggered` };
}

/** The CreateTable requests (dynamodb.tf, resource by resource). */
export function stereoTableDefinitions(names: StereoTableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.jobs,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'job_id', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'completed_at', AttributeType: 'N' },
        { AttributeName: 'created_at', AttributeType: 'N' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'status-completed_at',
          KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'completed_at', KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'status-created_at',
          KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'created_at', KeyType: 'RANGE' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    {
      TableName: names.segmentCompletions,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }, { AttributeName: 'segment_index', KeyType: 'RANGE' }],
      AttributeDefinitions: [
        { AttributeName: 'job_id', AttributeType: 'S' },
        { AttributeName: 'segment_index', AttributeType: 'N' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    },
    {
      TableName: names.reassemblyTriggered,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'job_id', AttributeType: 'S' }],
    },
  ];
}

export interface CreatedStereoTables extends StereoTableNames {
  /** Whether the server took the TTL setting (false on dynalite). */
  ttlEnabled: boolean;
}

/** Creates the three tables (ACTIVE at once on startDynalite()'s server), then the lock table's TTL where the server has it. */
export async function createStereoTables(client: DynamoDBClient, prefix = 'stereo-spot'): Promise<CreatedStereoTables> {
  const names = stereoTableNames(prefix);
  await Promise.all(stereoTableDefinitions(names).map((input) => client.send(new CreateTableCommand(input))));
  let ttlEnabled = true;
  try {
    await client.send(new UpdateTimeToLiveCommand({ TableName: names.reassemblyTriggered, TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true } }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'UnknownOperationException') throw err;
    ttlEnabled = false;
  }
  return { ...names, ttlEnabled };
}

// The SegmentCompletions stream → the reassembly-trigger Lambda, as ecba15e's deployment
// wires them (lambda.tf: event source mapping, starting position LATEST), emulated for
// dynalite, which has no streams: the table is read every `pollMs` (directly: that is the
// Streams service, not the function's role) and each new or changed item becomes a
// DynamoDB Streams record (INSERT / MODIFY, NEW_AND_OLD_IMAGES); each batch is handed to the
// built Lambda zip in a container of its own (test/helpers/lambda-zip.ts) with the
// function's environment, which points its calls at the caller's endpoint (an IAM proxy
// holding the function's policy). A rejected batch is retried with the next poll, as
// Lambda retries a stream batch.
import { randomUUID } from 'node:crypto';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { runContainer, type ContainerRun, type UnpackedLambda } from './lambda-zip.js';

export interface StreamTrigger {
  /** Every invocation so far. */
  readonly runs: ContainerRun[];
  stop(): Promise<void>;
}

type Image = Record<string, AttributeValue>;

let sequence = 1000;

/** One record as DynamoDB Streams delivers it to Lambda. */
export function streamRecord(table: string, image: Image, old: Image | undefined, region = 'us-east-1'): Record<string, unknown> {
  const keys = { job_id: image.job_id!, segment_index: image.segment_index! };
  sequence++;
  return {
    eventID: randomUUID().replaceAll('-', ''),
    eventName: old ? 'MODIFY' : 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
      Keys: keys, NewImage: image, ...(old ? { OldImage: old } : {}),
      SequenceNumber: `${sequence}000000000000000000000`, SizeBytes: 120, StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: `arn:aws:dynamodb:${region}:123456789012:table/${table}/stream/2026-02-17T00:00:00.000`,
  };
}

export function startSegmentCompletionsStream(opts: {
  ddb: DynamoDBClient;
  table: string;
  fn: UnpackedLambda;
  /** The function's environment (its four variables, region, credentials, endpoints). */
  env: Record<string, string>;
  pollMs?: number;
}): StreamTrigger {
  const seen = new Map<string, string>();
  const runs: ContainerRun[] = [];
  let pending: Array<Record<string, unknown>> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const items: Image[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await opts.ddb.send(new ScanCommand({ TableName: opts.table, ConsistentRead: true, ExclusiveStartKey: start }));
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      for (const item of items) {
        const id = `${item.job_id?.S}#${item.segment_index?.N}`;
        const text = JSON.stringify(item);
        const before = seen.get(id);
        if (before === text) continue;
        seen.set(id, text);
        pending.push(streamRecord(opts.table, item, before === undefined ? undefined : (JSON.parse(before) as Image)));
      }
      if (pending.length > 0) {
        const run = await runContainer(opts.fn.dir, opts.env, [[{ Records: pending }]]);
        runs.push(run);
        // A rejected batch stays for the next try; a resolved one is done.
        if (run.rounds[0]?.[0]?.ok) pending = [];
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 300));
    }
  })();
  return { runs, stop: async () => { running = false; await loop; } };
}

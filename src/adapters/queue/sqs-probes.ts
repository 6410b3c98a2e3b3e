// SQS calls that answer whether a permission is there and change nothing: SQS authorises each
// before it validates it, and refuses these after authorising them (a receipt handle no queue
// issued, an out-of-range parameter), never enqueueing or handing out a message. Shared by
// `doctor` and the permission probe of the stereo roles' start-up.
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

// Well-formed but issued by no queue: AWS answers ReceiptHandleIsInvalid once authorised
// (fauxqs: MessageNotInflight, or a delete that finds nothing).
const NO_SUCH_RECEIPT = 'rugbyworker-doctor-probe-receipt-handle-that-no-queue-issued';

export type ProbedSqsAction = 'ReceiveMessage' | 'DeleteMessage' | 'ChangeMessageVisibility' | 'SendMessage';

export const SQS_PROBES: Record<ProbedSqsAction, (client: SQSClient, QueueUrl: string) => Promise<unknown>> = {
  // 11 > 10 per call; visibility 0 in case a server took it anyway.
  ReceiveMessage: (c, QueueUrl) => c.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11, WaitTimeSeconds: 0, VisibilityTimeout: 0 })),
  DeleteMessage: (c, QueueUrl) => c.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: NO_SUCH_RECEIPT })),
  ChangeMessageVisibility: (c, QueueUrl) => c.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: NO_SUCH_RECEIPT, VisibilityTimeout: 0 })),
  // A NUL in the body is refused (InvalidMessageContents) before anything is enqueued, and a
  // delay past 900 s is out of range: fauxqs checks only the first, AWS both.
  SendMessage: (c, QueueUrl) => c.send(new SendMessageCommand({ QueueUrl, MessageBody: '\u0000', DelaySeconds: 901 })),
};

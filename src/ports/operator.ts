// What the operator commands (`dlq …`, `jobs …`) are given: the roles' ports, and the
// dead-letter side of a queue, which no role sees.
import type { QueueUrlKey } from '../domain/requirements.js';
import type { DeadLetterQueue } from './dead-letters.js';
import type { RolePorts } from './role.js';

export interface OperatorPorts extends RolePorts {
  /** The dead letters and depth of the queue behind a queue setting. */
  deadLetters(key: QueueUrlKey): Promise<DeadLetterQueue>;
}

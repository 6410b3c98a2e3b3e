// The SQS calls this worker's IAM policy refuses, remembered per queue: each is logged once,
// naming the missing permission and what the worker does without it, and not made again.
import type { Logger } from 'pino';
import { describeError } from '../../domain/describe-error.js';
import { permissionName, permissionNeed, type PermissionTarget, type SqsPermission } from '../../domain/sqs-permissions.js';

export class SqsRefusals {
  readonly #refused = new Set<string>();
  readonly #logger: Logger | undefined;
  readonly #leaseOptional: boolean;

  constructor(logger?: Logger, leaseOptional = false) {
    this.#logger = logger;
    this.#leaseOptional = leaseOptional;
  }

  /** Whether `action` on `queueName` was refused before. */
  has(action: SqsPermission, queueName: string): boolean {
    return this.#refused.has(permissionName(action, queueName));
  }

  /** Records the refusal; the first one of each permission is logged, with `assumed` (what the worker takes instead) before its cost. */
  note(action: SqsPermission, on: PermissionTarget, queueName: string, err: unknown, assumed?: { text: string; fields?: Record<string, unknown> }): void {
    const permission = permissionName(action, queueName);
    if (this.#refused.has(permission)) return;
    this.#refused.add(permission);
    const need = permissionNeed(action, on, this.#leaseOptional);
    // A required one stops the work it is needed for: an error, not a warning.
    this.#logger?.[need.required ? 'error' : 'warn'](
      { event_type: 'sqs_permission_missing', permission: `sqs:${action}`, queue: queueName, required: need.required, reason: describeError(err), ...assumed?.fields },
      `${permission} refused by the IAM policy; ${assumed ? `${assumed.text}; ` : ''}without it ${need.cost}`,
    );
  }
}

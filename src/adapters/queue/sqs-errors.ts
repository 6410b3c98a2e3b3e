// Classifies SQS / AWS SDK errors by code, so the adapter can tell a lost lease,
// a credentials problem and an abort apart without string-matching at call sites.
// The code itself and the credential codes: src/domain/aws-error-codes.ts.
import { errorCode, isCredentialError } from '../../domain/aws-error-codes.js';
import { errorText } from '../../domain/describe-error.js';

export { isCredentialError };

const LEASE_LOST_CODES = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight', 'InvalidReceiptHandle']);

// AWS reports some lease losses as InvalidParameterValue; only these reasons mean that.
const LEASE_LOST_MESSAGE = /receipt ?handle|not available for visibility timeout change|message does not exist/i;

const UNSUPPORTED_CODES = new Set(['InvalidAction', 'UnknownOperationException', 'UnsupportedOperation', 'InvalidAction.NotSupported']);


/** The receipt no longer designates a message we hold (deleted, expired, redelivered). */
export function isLeaseLostError(err: unknown): boolean {
  const code = errorCode(err);
  if (LEASE_LOST_CODES.has(code)) return true;
  return code === 'InvalidParameterValue' && LEASE_LOST_MESSAGE.test(errorText(err));
}

/** The request was aborted through its AbortSignal. */
export function isAbortError(err: unknown): boolean {
  return errorCode(err) === 'AbortError';
}

/** The endpoint does not implement the action (fauxqs and older emulators lack StartMessageMoveTask). */
export function isUnsupportedOperation(err: unknown): boolean {
  return UNSUPPORTED_CODES.has(errorCode(err)) || /unknown action|not implemented|unsupported/i.test(errorText(err));
}

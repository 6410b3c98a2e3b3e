// Classifies SQS / AWS SDK errors by code, so the adapter can tell a lost lease,
// a credentials problem and an abort apart without string-matching at call sites.
// Codes arrive in several spellings: `name` (JSON protocol), `Code`, or the query
// protocol's `AWS.SimpleQueueService.X` — compare on the last segment.

const CREDENTIAL_CODES = new Set([
  'CredentialsProviderError',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AccessDeniedException',
  'InvalidAccessKeyId',
  'ExpiredToken',
  'ExpiredTokenException',
  'MissingAuthenticationToken',
]);

const LEASE_LOST_CODES = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight', 'InvalidReceiptHandle']);

// AWS reports some lease losses as InvalidParameterValue; only these reasons mean that.
const LEASE_LOST_MESSAGE = /receipt ?handle|not available for visibility timeout change|message does not exist/i;

const UNSUPPORTED_CODES = new Set(['InvalidAction', 'UnknownOperationException', 'UnsupportedOperation', 'InvalidAction.NotSupported']);

/** The error's code in its plainest form ('' when it has none). */
export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; __type?: unknown };
  const raw = [e.Code, e.code, e.name, e.__type].find((v): v is string => typeof v === 'string' && v !== '' && v !== 'Error') ?? '';
  // "com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight"
  const afterHash = raw.slice(raw.lastIndexOf('#') + 1);
  return afterHash.startsWith('AWS.SimpleQueueService.') ? afterHash.slice('AWS.SimpleQueueService.'.length) : afterHash;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Credentials are missing, wrong or expired: retrying at once will not help. */
export function isCredentialError(err: unknown): boolean {
  return CREDENTIAL_CODES.has(errorCode(err));
}

/** The receipt no longer designates a message we hold (deleted, expired, redelivered). */
export function isLeaseLostError(err: unknown): boolean {
  const code = errorCode(err);
  if (LEASE_LOST_CODES.has(code)) return true;
  return code === 'InvalidParameterValue' && LEASE_LOST_MESSAGE.test(message(err));
}

/** The request was aborted through its AbortSignal. */
export function isAbortError(err: unknown): boolean {
  return errorCode(err) === 'AbortError';
}

/** The endpoint does not implement the action (fauxqs and older emulators lack StartMessageMoveTask). */
export function isUnsupportedOperation(err: unknown): boolean {
  return UNSUPPORTED_CODES.has(errorCode(err)) || /unknown action|not implemented|unsupported/i.test(message(err));
}

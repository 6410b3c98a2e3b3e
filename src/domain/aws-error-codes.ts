// AWS SDK error codes, read the same way everywhere (the SQS adapter, the start-up checks).
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

/** The error's code in its plainest form ('' when it has none). */
export function errorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; __type?: unknown };
  const raw = [e.Code, e.code, e.name, e.__type].find((v): v is string => typeof v === 'string' && v !== '' && v !== 'Error') ?? '';
  // "com.amazonaws.sqs#MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight"
  const afterHash = raw.slice(raw.lastIndexOf('#') + 1);
  return afterHash.startsWith('AWS.SimpleQueueService.') ? afterHash.slice('AWS.SimpleQueueService.'.length) : afterHash;
}

// Authorization, not authentication: the credentials are good but their policy does not
// allow this one call. A role made for the Python worker lacks some calls we would make;
// each is a fallback to take, never a reason to stop.
const DENIED_CODES = new Set(['AccessDenied', 'AccessDeniedException', 'AuthorizationError', 'UnauthorizedOperation']);

/** The policy refuses this call (IAM AccessDenied), while the credentials themselves are accepted. */
export function isAccessDenied(err: unknown): boolean {
  return DENIED_CODES.has(errorCode(err));
}

/** Credentials are missing, wrong or expired: retrying at once will not help. */
export function isCredentialError(err: unknown): boolean {
  return CREDENTIAL_CODES.has(errorCode(err));
}

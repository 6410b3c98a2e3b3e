// Secrets never reach a terminal or a log: by name (*_KEY, *_SECRET, *TOKEN*, passwords)
// and, for URLs, the password part.
const SECRET_NAME = /(_KEY$|_KEY_ID$|SECRET|TOKEN|PASSWORD|PASSWD|AUTHORIZATION|COOKIE|^apikey$)/i;

export const REDACTED = '[REDACTED]';

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `redis://:pw@host` → `redis://:[REDACTED]@host`; other strings unchanged. */
export function redactUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)([^@/\s]+)@/i, `$1${REDACTED}@`);
}

export function redactSetting(name: string, value: unknown): unknown {
  if (value === '' || value === null || value === undefined) return value;
  if (isSecretName(name)) return REDACTED;
  return typeof value === 'string' ? redactUrlPassword(value) : value;
}

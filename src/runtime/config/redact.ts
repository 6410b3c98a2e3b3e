// Secrets never reach a terminal or a log: by name (*_KEY, *_SECRET, *TOKEN*, passwords)
// and, inside a value, what src/runtime/redact.ts recognises (a URL's password, a token).
import { REDACTED, redactText } from '../redact.js';

export { REDACTED };

const SECRET_NAME = /(_KEY$|_KEY_ID$|SECRET|TOKEN|PASSWORD|PASSWD|AUTHORIZATION|COOKIE|^apikey$)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export function redactSetting(name: string, value: unknown): unknown {
  if (value === '' || value === null || value === undefined) return value;
  if (isSecretName(name)) return REDACTED;
  return typeof value === 'string' ? redactText(value) : value;
}

import type { Config } from './schema.js';
import { isSecretName } from './redact.js';

/** The secret values actually configured, so the logger can scrub them from any text. */
export function secretValues(config: Config): string[] {
  return Object.entries(config)
    .filter(([k, v]) => isSecretName(k) && typeof v === 'string' && v !== '')
    .map(([, v]) => v as string);
}

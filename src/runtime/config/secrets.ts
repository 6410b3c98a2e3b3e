import type { Config } from './schema.js';
import { isSecretName } from './redact.js';

/**
 * The secret values actually configured, so every redactor can scrub them from any text:
 * secret-named settings, and the password of any URL setting (SUPABASE_URL with one in it),
 * as written and decoded, which a library may quote outside any URL.
 */
export function secretValues(config: Config): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(config)) {
    if (typeof v !== 'string' || v === '') continue;
    if (isSecretName(k)) out.add(v);
    else for (const p of urlPassword(v)) out.add(p);
  }
  return [...out];
}

/** The secret-named variables of an environment: what can be masked before the configuration is read. */
export function envSecretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env).filter(([k, v]) => isSecretName(k) && typeof v === 'string' && v !== '').map(([, v]) => v as string);
}

function urlPassword(value: string): string[] {
  if (!value.includes('://')) return [];
  try {
    const { password } = new URL(value);
    if (!password) return [];
    let decoded = password;
    try {
      decoded = decodeURIComponent(password);
    } catch { /* kept as written */ }
    return [password, decoded];
  } catch {
    return [];
  }
}

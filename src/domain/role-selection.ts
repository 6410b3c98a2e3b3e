// `--role` grammar: comma-separated names, `all` (every role) or `none` (runtime only).
export type RoleSelection = { ok: true; names: string[] } | { ok: false; error: string };

export function parseRoleSelection(spec: string, valid: readonly string[]): RoleSelection {
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const list = `valid roles: ${valid.join(', ')}, or all, or none`;
  if (parts.length === 0) return { ok: false, error: `--role needs at least one name (${list})` };
  if (parts.includes('all')) return parts.length === 1 ? { ok: true, names: [...valid] } : { ok: false, error: `--role all cannot be combined with other names` };
  if (parts.includes('none')) return parts.length === 1 ? { ok: true, names: [] } : { ok: false, error: `--role none cannot be combined with other names` };
  const unknown = parts.filter((p) => !valid.includes(p));
  if (unknown.length > 0) return { ok: false, error: `unknown role${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} (${list})` };
  return { ok: true, names: [...new Set(parts)] };
}

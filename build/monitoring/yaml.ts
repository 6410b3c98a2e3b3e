// Just enough YAML for Prometheus rule and promtool test files: maps, lists, strings,
// numbers and booleans, in block style. Every string is double-quoted with JSON's escapes
// (a valid YAML double-quoted scalar), so no value can be read as another type or break the
// structure; one with line breaks would be, too, but none of ours has them.

type Value = string | number | boolean | null | readonly Value[] | { readonly [k: string]: Value };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function scalar(v: string | number | boolean | null): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`yaml: ${v} is not a finite number`);
  return String(v);
}

function key(k: string): string {
  return PLAIN_KEY.test(k) ? k : JSON.stringify(k);
}

function isScalar(v: Value): v is string | number | boolean | null {
  return v === null || typeof v !== 'object';
}

function lines(v: Value, indent: string): string[] {
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${indent}[]`];
    return v.flatMap((item: Value) => {
      if (isScalar(item)) return [`${indent}- ${scalar(item)}`];
      const inner = lines(item, `${indent}  `);
      // The first line of the item goes after the dash.
      return [`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
    });
  }
  if (isScalar(v)) return [`${indent}${scalar(v)}`];
  const entries = Object.entries(v as Record<string, Value>);
  if (entries.length === 0) return [`${indent}{}`];
  return entries.flatMap(([k, val]) => {
    if (isScalar(val)) return [`${indent}${key(k)}: ${scalar(val)}`];
    if (Array.isArray(val) && val.length === 0) return [`${indent}${key(k)}: []`];
    if (!Array.isArray(val) && Object.keys(val).length === 0) return [`${indent}${key(k)}: {}`];
    return [`${indent}${key(k)}:`, ...lines(val, `${indent}  `)];
  });
}

/** `value` as a YAML document, with `header` lines as comments on top. */
export function toYaml(value: object, header: readonly string[] = []): string {
  return [...header.map((h) => `# ${h}`.trimEnd()), ...lines(value as Value, '')].join('\n') + '\n';
}

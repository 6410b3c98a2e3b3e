// One redaction for every text that leaves the process (log lines, /health and /metrics,
// error lines, `doctor` and `config`): the configured secret values wherever they appear,
// and whatever looks like a credential in free text (a library's error quoting a URL): the
// password of a URL, the credential parameters of a query string, a bearer token.

export const REDACTED = '[REDACTED]';

const MIN_SECRET_LENGTH = 4; // shorter values would blank out ordinary words and numbers

/** `(text) => text` with each secret value (and its JSON and URL spellings) masked, then redactText. */
export function createRedactor(secretValues: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secretValues) {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1)); // as it appears inside a JSON line
    forms.add(encodeURIComponent(secret)); // as it appears inside a URL
  }
  // Longest first, so a secret containing another one is replaced whole.
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const secrets = alternatives.length > 0 ? new RegExp(alternatives.join('|'), 'g') : null;
  return (text) => redactText(secrets ? text.replace(secrets, REDACTED) : text);
}

// `scheme://authority`: the authority ends at the first / ? # (or blank, quote, < >, which a
// URL never holds raw); a quote ends it so a JSON line is never read across fields.
const URL_AUTHORITY = /\b([a-z][a-z0-9+.-]*:\/\/)([^/?#\s"<>]*)/gi;
// `?name=value` / `&name=value`: the value ends where a URL or a JSON string would, or at
// the `)`, `]`, `,` or `;` of the prose around it (no token alphabet has them raw).
const QUERY_PARAM = /([?&])([\w.%-]+)=(?!\[REDACTED\])([^&#\s"'<>\\)\],;]+)/g;
// Signed URLs (S3/Wasabi X-Amz-*, Google X-Goog-*, Azure SAS `sig`), OAuth and API keys.
const SECRET_PARAM = /token|secret|passw(?:or)?d|^pwd$|api[-_]?key|access[-_]?key|private[-_]?key|^key$|^sig$|signature|credential|^auth$|authorization|session/i;
const BEARER = /\bBearer\s+[\w~+/.-]{8,}=*/g;
const LONE_TOKEN = /^[\w~.%-]{16,}$/;

/**
 * `text` with URL passwords, credential query parameters and bearer tokens masked, wherever
 * they are in it. A URL's userinfo runs to the LAST `@` of its authority, so a password holding
 * an `@` (`postgres://u:p@ss@host/db`) is masked whole; a user name alone is kept unless it
 * looks like a token (16 characters or more).
 */
export function redactText(text: string): string {
  let out = text;
  if (out.includes('://')) out = out.replace(URL_AUTHORITY, maskUserinfo);
  if (out.includes('=')) out = out.replace(QUERY_PARAM, (all, sep: string, name: string) => (SECRET_PARAM.test(safeDecode(name)) ? `${sep}${name}=${REDACTED}` : all));
  if (out.includes('Bearer')) out = out.replace(BEARER, `Bearer ${REDACTED}`);
  return out;
}

function maskUserinfo(all: string, scheme: string, authority: string): string {
  const at = authority.lastIndexOf('@');
  if (at < 0) return all;
  const colon = authority.indexOf(':');
  if (colon < 0 || colon > at) {
    // A user name alone is kept (postgres://app@db), unless it is long enough to be a token
    // standing in for one (https://ghp_…@github.com, as git remotes and some SDKs write it).
    return LONE_TOKEN.test(authority.slice(0, at)) ? `${scheme}${REDACTED}${authority.slice(at)}` : all;
  }
  return `${scheme}${authority.slice(0, colon + 1)}${REDACTED}${authority.slice(at)}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

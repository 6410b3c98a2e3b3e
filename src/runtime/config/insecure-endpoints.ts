// Settings whose requests carry a credential must not send it unencrypted across a network:
// plain http:// (or redis:// with a password) only to this machine (127.0.0.0/8, ::1,
// localhost: the test stand-ins, a local proxy) unless ALLOW_INSECURE_HTTP says the network
// is trusted.
import type { Config, ConfigKey } from './schema.js';

const AWS_SIGNED = 'requests signed with the AWS credentials (their session token in clear)';

/** Endpoints that always receive a credential, and what would cross the network. */
const CREDENTIAL_ENDPOINTS: Partial<Record<ConfigKey, string>> = {
  SUPABASE_URL: 'the service role key (SUPABASE_SERVICE_ROLE_KEY)',
  AXIOM_URL: 'the Axiom token (AXIOM_API_TOKEN)',
  WASABI_ENDPOINT: 'requests signed with WASABI_KEY and the media itself',
  AWS_ENDPOINT_URL: AWS_SIGNED,
  AWS_ENDPOINT_URL_SQS: AWS_SIGNED,
  AWS_ENDPOINT_URL_S3: AWS_SIGNED,
  AWS_ENDPOINT_URL_DYNAMODB: AWS_SIGNED,
  SQS_TRANSCODE_QUEUE_URL: AWS_SIGNED,
  SQS_QUEUE_URL: AWS_SIGNED,
  CHUNKING_QUEUE_URL: AWS_SIGNED,
  VIDEO_WORKER_QUEUE_URL: AWS_SIGNED,
  REASSEMBLY_QUEUE_URL: AWS_SIGNED,
};

// The SQS client sends to a queue URL's host only when no SQS endpoint is set (src/adapters/queue/sqs.ts).
const QUEUE_URLS = new Set<ConfigKey>(['SQS_TRANSCODE_QUEUE_URL', 'SQS_QUEUE_URL', 'CHUNKING_QUEUE_URL', 'VIDEO_WORKER_QUEUE_URL', 'REASSEMBLY_QUEUE_URL']);

/** Other URL settings: a credential only when the URL holds one (user:password@). */
const URL_SETTINGS: readonly ConfigKey[] = ['INFERENCE_HTTP_URL', 'REDIS_URL'];

const CLEAR_SCHEMES = new Set(['http:', 'redis:']);

/** Whether `hostname` (as URL spells it) is this machine: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost and its subdomains (RFC 6761). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '[::1]') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(h); // ::ffff:127.x.y.z, as URL writes it
}

/**
 * The first setting that would send a credential unencrypted to another machine, as the one
 * line start-up stops with (exit 78); null when there is none or ALLOW_INSECURE_HTTP is set.
 */
export function insecureEndpointProblem(cfg: Config): string | null {
  if (cfg.ALLOW_INSECURE_HTTP) return null;
  const keys = [...Object.keys(CREDENTIAL_ENDPOINTS) as ConfigKey[], ...URL_SETTINGS];
  const sqsEndpoint = cfg.AWS_ENDPOINT_URL_SQS || cfg.AWS_ENDPOINT_URL;
  for (const key of keys) {
    if (sqsEndpoint && QUEUE_URLS.has(key)) continue; // never contacted: the endpoint is, and is checked
    const value = cfg[key];
    if (typeof value !== 'string' || value === '') continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue; // the format check has already refused it
    }
    if (!CLEAR_SCHEMES.has(url.protocol) || isLoopbackHost(url.hostname)) continue;
    const carries = url.password || url.username ? 'the password in it' : CREDENTIAL_ENDPOINTS[key];
    if (!carries) continue;
    const secure = url.protocol === 'redis:' ? 'rediss://' : 'https://';
    return `${key} is unencrypted ${url.protocol}// to ${url.hostname}, not this machine: ${carries} would cross the network in clear; use ${secure}, or set ALLOW_INSECURE_HTTP=true if that network is trusted`;
  }
  return null;
}

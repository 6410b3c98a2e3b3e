// How long an AWS SDK or PostgREST call may wait on the network before it counts as failed
// (and is retried). Without these a black-holed connection (a dead NAT, a Wi-Fi drop on a
// club's line) hangs a call forever: no error, no retry, a heartbeat that never answers.
// `connectionTimeout`: TCP + TLS set-up. `requestTimeout`: the socket idle for this long.

export interface RequestTimeouts {
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  /** Without it @smithy/node-http-handler only logs a warning and the call goes on hanging. */
  readonly throwOnRequestTimeout: true;
}

const CONNECT_MS = 5_000;

/** Per service, in ms. SQS waits out the long poll (the server holds the socket silent). */
export function requestTimeouts(service: 'sqs' | 's3' | 'dynamodb', longPollSeconds = 20): RequestTimeouts {
  switch (service) {
    case 'sqs':
      return { connectionTimeout: CONNECT_MS, requestTimeout: (longPollSeconds + 10) * 1000, throwOnRequestTimeout: true };
    case 's3':
      // A part upload or a download's next bytes: generous for a slow link, finite for a dead one.
      return { connectionTimeout: CONNECT_MS, requestTimeout: 60_000, throwOnRequestTimeout: true };
    case 'dynamodb':
      return { connectionTimeout: CONNECT_MS, requestTimeout: 15_000, throwOnRequestTimeout: true };
  }
}

/**
 * A whole PostgREST request (supabase-js aborts it). Every request the workers make is one
 * small row or a short page, answered in well under a second; a black-holed Supabase shows on
 * /health and in the job's retries after this, not after 30 s.
 */
export const SUPABASE_REQUEST_TIMEOUT_MS = 15_000;

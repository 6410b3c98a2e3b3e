// Convict formats whose error text reads well after the variable name:
// "SQS_LONG_POLL_WAIT_SECONDS must be an integer from 0 to 20".
import convict from 'convict';
import { MAX_SEGMENTS } from '../../domain/stereo/keys.js';

function intIn(min: number, max: number) {
  return {
    validate(v: unknown) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new Error(`must be an integer from ${min} to ${max}`);
      }
    },
    coerce: (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
  };
}

function isUrl(v: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

let registered = false;

export function registerFormats(): void {
  if (registered) return;
  registered = true;
  convict.addFormats({
    'optional-http-url': {
      validate(v: unknown) {
        if (v !== '' && (typeof v !== 'string' || !isUrl(v, ['http:', 'https:']))) {
          throw new Error('must be an http(s) URL such as https://example.com');
        }
      },
    },
    'optional-redis-url': {
      validate(v: unknown) {
        if (v !== '' && (typeof v !== 'string' || !isUrl(v, ['redis:', 'rediss:']))) {
          throw new Error('must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379');
        }
      },
    },
    'optional-port': {
      validate(v: unknown) {
        if (v === null) return;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535) {
          throw new Error('must be a TCP port from 0 to 65535 (0 picks a free one), or unset to turn it off');
        }
      },
      coerce: (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v),
    },
    'positive-int': intIn(1, 1_000_000),
    'pixel-count': intIn(1, 1_000_000_000),
    // The segment key's five digits (src/domain/stereo/keys.ts).
    'segment-count': intIn(1, MAX_SEGMENTS),
    'seconds-0-20': intIn(0, 20),
    'seconds-1-30': intIn(1, 30),
    'seconds-0-43200': intIn(0, 43_200),
    'rung-heights': {
      validate(v: unknown) {
        if (!Array.isArray(v) || v.length === 0 || !v.every((h) => Number.isInteger(h) && h >= 2 && h <= 4320)) {
          throw new Error('must be rendition heights such as 1080,720,480 (whole numbers from 2 to 4320)');
        }
      },
      coerce: (v: unknown) => {
        if (typeof v !== 'string') return v;
        const parts = v.split(',').map((p) => p.trim().replace(/p$/i, ''));
        return parts.every((p) => /^\d+$/.test(p)) ? parts.map(Number) : v;
      },
    },
    'seconds-1-43200': intIn(1, 43_200),
    'seconds-1-86400': intIn(1, 86_400),
    'seconds-1-604800': intIn(1, 604_800),
    'positive-minutes': {
      validate(v: unknown) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 10_080) throw new Error('must be a number of minutes above 0 and at most 10080 (a week), e.g. 15 or 0.5');
      },
      coerce: (v: unknown) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v),
    },
    'bool-string': {
      validate(v: unknown) {
        if (typeof v !== 'boolean') throw new Error('must be true or false');
      },
      coerce: (v: unknown) => {
        if (typeof v !== 'string') return v;
        const s = v.trim().toLowerCase();
        if (['1', 'true', 'yes', 'on'].includes(s)) return true;
        if (['0', 'false', 'no', 'off'].includes(s)) return false;
        return v;
      },
    },
  });
}

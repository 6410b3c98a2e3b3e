// `rugbyworker config`: what the worker would run with, secrets masked.
import type { Io } from './io.js';
import { redactedConfig } from '../runtime/config/load.js';
import type { Config } from '../runtime/config/schema.js';

export function printConfig(config: Config, io: Io, json: boolean): void {
  const shown = redactedConfig(config);
  if (json) {
    io.stdout(`${JSON.stringify(shown, null, 2)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(shown)) io.stdout(`${k}=${v === null ? '' : String(v)}\n`);
}

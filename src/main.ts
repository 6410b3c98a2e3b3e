// Entry point of the bundle and the executable.
import { main } from './cli.js';

main(process.argv).then(
  (code) => { if (code !== undefined) process.exitCode = code; },
  (err: unknown) => {
    console.error(`rugbyworker: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);

// Entry point of the bundle and the executable.
import { main, terminalLine } from './cli.js';

main(process.argv).then(
  (code) => { if (code !== undefined) process.exitCode = code; },
  (err: unknown) => {
    console.error(`rugbyworker: ${terminalLine(err instanceof Error ? err.message : String(err), process.env)}`);
    process.exitCode = 1;
  },
);

// TEMPORARY stub so the build pipeline can be developed; replaced by the real CLI.
import { versionLine } from './runtime/version.js';
import { createServer } from 'node:http';
import '@aws-sdk/client-sqs';
import '@aws-sdk/client-s3';

export async function main(argv: string[]): Promise<number | undefined> {
  if (argv.includes('--version')) { process.stdout.write(versionLine() + '\n'); return 0; }
  const i = argv.indexOf('--health-port');
  if (i > 0) {
    const server = createServer((_req, res) => { res.writeHead(200); res.end('{"status":"healthy"}'); });
    server.listen(Number(argv[i + 1]), '127.0.0.1');
    process.on('SIGTERM', () => server.close(() => process.exit(0)));
    return undefined;
  }
  return 0;
}

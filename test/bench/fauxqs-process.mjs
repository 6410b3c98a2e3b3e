// fauxqs (the SQS/S3 stand-in) in a process of its own, so the transcode bench can tell the
// role's CPU from the stand-in's receiving the uploads. Prints its port, then serves until killed.
import { buildApp } from 'fauxqs';

const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${app.server.address().port}\n`);

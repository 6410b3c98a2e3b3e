// A logger for one job's lines. pino writes a child's bindings after its parent's, so a
// child({ job_id }) of a logger that has job_id already puts the key in the line twice
// (with two values when the consumer bound the message id): Axiom and JSON parsers then
// keep either one. Bind it only where it is not bound yet.
import type { Logger } from 'pino';

export function jobLogger(logger: Logger, jobId: string): Logger {
  return logger.bindings()['job_id'] === jobId ? logger : logger.child({ job_id: jobId });
}

export { createLogger } from './logger.js';
export type { AxiomLogOptions, CreateLoggerOptions, LoggerHandle } from './logger.js';
export type { Logger } from 'pino';
export { AxiomStream } from './axiom-stream.js';
export type { AxiomStreamOptions, WritableText } from './axiom-stream.js';
export { createRedactor, redactObject, isSecretKey, REDACTED } from './redact.js';
export { createPrettyFormatter } from './pretty.js';
export type { PrettyOptions } from './pretty.js';
export { isoMicros, formatIsoMicros, createMicrosClock } from './timestamp.js';

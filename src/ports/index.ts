// The ports (DESIGN §3), one file each, and the role API. Roles and adapters import from here.
export * from './errors.js';
export type * from './queue.js';
export type * from './dead-letters.js';
export type * from './object-store.js';
export type * from './media-db.js';
export type * from './pipeline-db.js';
export type * from './inference.js';
export type * from './role.js';
export type * from './operator.js';

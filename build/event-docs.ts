// `npm run docs:events`: rewrites the README's list of log events from the catalogue.
import { readFileSync, writeFileSync } from 'node:fs';
import { withLogEvents } from '../src/runtime/logger/event-reference.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withLogEvents(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README log event list is up to date' : 'README log event list rewritten');

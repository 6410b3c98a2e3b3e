// `npm run docs:config`: rewrites the README's configuration table from the schema.
import { readFileSync, writeFileSync } from 'node:fs';
import { withReference } from '../src/runtime/config/reference.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withReference(before);
if (after !== before) writeFileSync(path, after);
console.log(after === before ? 'README configuration table is up to date' : 'README configuration table rewritten');

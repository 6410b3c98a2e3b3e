// Types of build/node-pins.mjs for the TypeScript tests.
import type { NodePins } from './node-dist.mjs';
export const NODE_PINS: NodePins;

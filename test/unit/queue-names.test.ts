// The queue catalogue: an operator's name, a setting and a Redis stream name one queue each,
// so `dlq --queue chunking` reaches the stream a chunk worker on Redis reads.
import { describe, expect, it } from '@jest/globals';
import { QUEUES, QUEUE_NAMES, QUEUE_SETTING, redisStream } from '../../src/domain/queue-names.js';

describe('queue catalogue', () => {
  it('gives each queue its own name, setting and stream', () => {
    for (const key of ['name', 'setting', 'stream'] as const) expect(new Set(QUEUES.map((q) => q[key])).size).toBe(QUEUES.length);
  });

  it('reaches the same stream from an operator name as from its setting', () => {
    for (const name of QUEUE_NAMES) {
      const entry = QUEUES.find((q) => q.name === name);
      expect(redisStream(QUEUE_SETTING[name])).toBe(entry?.stream);
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { buildObjectCreatedEvent } from '../../src/domain/s3-event.js';
import { matchesFilter, notifyQueues } from '../../src/adapters/storage/s3-notifications.js';

const event = (key: string) => buildObjectCreatedEvent({
  bucket: 'in', key, size: 3, eTag: '"abc"', region: 'us-east-1', time: new Date('2026-01-01T00:00:00Z'), sequencer: '00AA',
});

function recorder() {
  const sent: string[] = [];
  return { sent, queue: { send: async (body: string) => { sent.push(body); } } };
}

describe('matchesFilter', () => {
  it('needs both the prefix and the suffix, case-sensitive, as S3 filter rules', () => {
    const f = { prefix: 'input/', suffix: '.mp4' };
    expect(matchesFilter(f, 'input/j1/source.mp4')).toBe(true);
    expect(matchesFilter(f, 'input/j1/source.MP4')).toBe(false);
    expect(matchesFilter(f, 'segments/j1/00000_00001_sbs.mp4')).toBe(false);
    expect(matchesFilter(f, 'xinput/j1/source.mp4')).toBe(false);
    expect(matchesFilter({ prefix: '', suffix: '' }, 'anything')).toBe(true);
  });
});

describe('notifyQueues (the stereo input bucket rules)', () => {
  const chunking = recorder();
  const video = recorder();
  const notify = notifyQueues([
    { prefix: 'input/', suffix: '.mp4', queue: chunking.queue },
    { prefix: 'segments/', suffix: '.mp4', queue: video.queue },
  ]);

  it('sends the event JSON itself to the queue whose rule matches, and nothing elsewhere', async () => {
    await notify(event('input/job 1/source.mp4'));
    await notify(event('segments/job 1/00000_00002_sbs.mp4'));
    await notify(event('input/job 1/notes.txt'));
    await notify(event('jobs/job 1/final.mp4'));
    expect(chunking.sent).toEqual([JSON.stringify(event('input/job 1/source.mp4'))]);
    expect(video.sent).toEqual([JSON.stringify(event('segments/job 1/00000_00002_sbs.mp4'))]);
    // The key in the body stays URL-encoded, as S3 sends it; the filter saw the real key.
    expect(JSON.parse(chunking.sent[0]!).Records[0].s3.object.key).toBe('input/job+1/source.mp4');
  });

  it('matches the decoded key: an encoded character in the prefix still matches', async () => {
    const q = recorder();
    await notifyQueues([{ prefix: 'in put/', suffix: '.mp4', queue: q.queue }])(event('in put/a.mp4'));
    expect(q.sent).toHaveLength(1);
  });

  it('sends one message per record', async () => {
    const q = recorder();
    const two = { Records: [...event('input/a/source.mp4').Records, ...event('input/b/source.mp4').Records] };
    await notifyQueues([{ prefix: 'input/', suffix: '.mp4', queue: q.queue }])(two);
    expect(q.sent.map((b) => JSON.parse(b).Records.length)).toEqual([1, 1]);
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  MAX_SEGMENTS, finalKey, inputKey, isStereoMode, jobIdProblem, parseInputKey, parseS3Uri, parseSegmentKey, s3Uri, segmentKey,
  segmentOutputKey, segmentOutputUri, segmentsPrefix,
} from '../../src/domain/stereo/keys.js';
import type { SegmentKeyParts } from '../../src/domain/stereo/keys.js';
import type { StereoMode } from '../../src/domain/stereo/records.js';
import { UPSTREAM_REJECTED_SEGMENT_KEYS } from '../fixtures/stereo/rejected-segment-keys.js';

const parsed = (bucket: string, key: string) => {
  const r = parseSegmentKey(bucket, key);
  if (!r.ok) throw new Error(`expected ${key} to parse: ${r.reason}`);
  return r.payload;
};
const refusal = (key: string): string => {
  const r = parseSegmentKey('b', key);
  if (r.ok) throw new Error(`expected ${JSON.stringify(key)} to be refused`);
  return r.reason;
};

// Ported from stereo-spot ecba15e packages/shared-types/tests/test_keys.py.
describe('segment key round trip (test_keys.py TestSegmentKeyRoundTrip)', () => {
  it('test_round_trip_anaglyph', () => {
    const key = segmentKey({ jobId: 'job-abc', segmentIndex: 42, totalSegments: 100, mode: 'anaglyph' });
    expect(key).toBe('segments/job-abc/00042_00100_anaglyph.mp4');
    expect(parsed('my-bucket', key)).toEqual({
      jobId: 'job-abc', segmentIndex: 42, totalSegments: 100, mode: 'anaglyph', segmentS3Uri: `s3://my-bucket/${key}`,
    });
  });

  it('test_round_trip_sbs', () => {
    const key = segmentKey({ jobId: 'xyz-123', segmentIndex: 0, totalSegments: 1, mode: 'sbs' });
    expect(key).toBe('segments/xyz-123/00000_00001_sbs.mp4');
    expect(parsed('input-bucket', key)).toMatchObject({ jobId: 'xyz-123', segmentIndex: 0, totalSegments: 1, mode: 'sbs' });
  });
});

describe('invalid segment keys (test_keys.py TestInvalidSegmentKey)', () => {
  it.each(UPSTREAM_REJECTED_SEGMENT_KEYS)('%s: %j', (_name, key, reason) => {
    const why = refusal(key);
    expect(why).toMatch(reason);
    expect(why).toMatch(/stereo-spot segment key rule/);
  });
});

// Ported from packages/media-worker/tests/test_segment_key.py.
describe('segment key generation (test_segment_key.py)', () => {
  it.each<[string, SegmentKeyParts, string]>([
    ['test_build_segment_key_anaglyph', { jobId: 'job-123', segmentIndex: 0, totalSegments: 10, mode: 'anaglyph' }, 'segments/job-123/00000_00010_anaglyph.mp4'],
    ['test_build_segment_key_sbs', { jobId: 'abc', segmentIndex: 42, totalSegments: 100, mode: 'sbs' }, 'segments/abc/00042_00100_sbs.mp4'],
    ['test_build_segment_key_single_segment', { jobId: 'single', segmentIndex: 0, totalSegments: 1, mode: 'anaglyph' }, 'segments/single/00000_00001_anaglyph.mp4'],
  ])('%s', (_name, parts, key) => {
    expect(segmentKey(parts)).toBe(key);
  });
});

// Each row was run through upstream's parse_segment_key and parse_input_key (ecba15e,
// Python 3.11): `upstream` is what they return. `ours` differs only where STEREO-SPOT.md /
// keys.ts say so (the safety rule, ASCII digits, no final newline).
type Seg = [jobId: string, index: number, total: number, mode: StereoMode] | null;
const SEGMENT_CASES: Array<{ key: string; upstream: Seg; ours?: 'safety' | 'ours' }> = [
  { key: 'segments/job/00000_00001_sbs.mp4', upstream: ['job', 0, 1, 'sbs'] },
  { key: 'segments/job/99998_99999_sbs.mp4', upstream: ['job', 99998, 99999, 'sbs'] },
  { key: 'segments/job/99999_99999_sbs.mp4', upstream: null },
  { key: 'segments/job/00005_00003_sbs.mp4', upstream: null },
  { key: 'segments/job/00000_00000_sbs.mp4', upstream: null },
  // The job id is everything before the last "/".
  { key: 'segments/a/b/00003_00010_anaglyph.mp4', upstream: ['a/b', 3, 10, 'anaglyph'] },
  { key: 'segments/segments/00000_00001_sbs.mp4', upstream: ['segments', 0, 1, 'sbs'] },
  { key: 'segments/a b/00000_00002_sbs.mp4', upstream: ['a b', 0, 2, 'sbs'] },
  { key: 'segments/é🏉/00001_00002_anaglyph.mp4', upstream: ['é🏉', 1, 2, 'anaglyph'] },
  // Prefix: exact, case-sensitive, no leading slash.
  { key: '/segments/job/00000_00001_sbs.mp4', upstream: null },
  { key: 'Segments/job/00000_00001_sbs.mp4', upstream: null },
  { key: 'segmentsjob/00000_00001_sbs.mp4', upstream: null },
  { key: 'segments/', upstream: null },
  { key: 'segments', upstream: null },
  { key: '', upstream: null },
  // File name: lower case only.
  { key: 'segments/job/00000_00001_SBS.mp4', upstream: null },
  { key: 'segments/job/00000_00001_Anaglyph.mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs.MP4', upstream: null },
  { key: 'segments/job/00000_00001_sbs.Mp4', upstream: null },
  // File name: exactly five digits each.
  { key: 'segments/job/000000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/00000_000001_sbs.mp4', upstream: null },
  { key: 'segments/job/0000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/+0000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/-0000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/0x000_00001_sbs.mp4', upstream: null },
  // File name: nothing before or after, separators exact.
  { key: 'segments/job/00000_00001_sbs.mp4/', upstream: null },
  { key: 'segments/job/', upstream: null },
  { key: 'segments/job/00000_00001_sbs.mp4 ', upstream: null },
  { key: 'segments/job/ 00000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/x00000_00001_sbs.mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs.mp4x', upstream: null },
  { key: 'segments/job/00000_00001_sbs.mp4.mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs..mp4', upstream: null },
  { key: 'segments/job/00000-00001_sbs.mp4', upstream: null },
  { key: 'segments/job/00000_00001-sbs.mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs_mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs.mp', upstream: null },
  { key: 'segments/job/00000_00001_sbsmp4', upstream: null },
  { key: 'segments/job/00000_00001_.mp4', upstream: null },
  { key: 'segments/job/00000_00001_anaglyph_sbs.mp4', upstream: null },
  { key: 'segments/job/00000_00001_sbs\n.mp4', upstream: null },
  { key: 'input/job/source.mp4', upstream: null },
  { key: 'segments/input/x/source.mp4', upstream: null },
  // Upstream takes these; we do not.
  { key: 'segments/job/00000_00001_sbs.mp4\n', upstream: ['job', 0, 1, 'sbs'], ours: 'ours' },
  { key: 'segments/job/\u0660\u0660\u0660\u0660\u0660_\u0660\u0660\u0660\u0660\u0661_sbs.mp4', upstream: ['job', 0, 1, 'sbs'], ours: 'ours' },
  { key: 'segments/../00000_00001_sbs.mp4', upstream: ['..', 0, 1, 'sbs'], ours: 'safety' },
  { key: 'segments/./00000_00001_sbs.mp4', upstream: ['.', 0, 1, 'sbs'], ours: 'safety' },
  { key: 'segments/a//00000_00001_sbs.mp4', upstream: ['a/', 0, 1, 'sbs'], ours: 'safety' },
  { key: 'segments//a/00000_00001_sbs.mp4', upstream: ['/a', 0, 1, 'sbs'], ours: 'safety' },
  { key: 'segments/a\\b/00000_00001_sbs.mp4', upstream: ['a\\b', 0, 1, 'sbs'], ours: 'safety' },
];

describe('parseSegmentKey against upstream', () => {
  it.each(SEGMENT_CASES.map((c) => [c.key, c] as const))('%j', (_key, c) => {
    const r = parseSegmentKey('b', c.key);
    if (c.upstream !== null && c.ours === undefined) {
      const [jobId, segmentIndex, totalSegments, mode] = c.upstream;
      expect(r).toEqual({ ok: true, payload: { jobId, segmentIndex, totalSegments, mode, segmentS3Uri: `s3://b/${c.key}` } });
      return;
    }
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const rule = c.ours === 'safety' ? 'object-key safety rule' : c.ours === 'ours' ? 'rugbyworker segment key rule' : 'stereo-spot segment key rule';
    expect(r.reason).toContain(`(${rule})`);
  });

  it('refuses a key that is too long for S3 (the safety rule), even with a good file name', () => {
    const why = refusal(`segments/${'j'.repeat(1000)}/00000_00001_sbs.mp4`);
    expect(why).toMatch(/object-key safety rule.*longer than 1024 bytes/);
  });

  it('refuses control characters in the job id (the safety rule)', () => {
    expect(refusal('segments/a\u0000b/00000_00001_sbs.mp4')).toMatch(/object-key safety rule.*NUL/);
    expect(refusal('segments/a\tb/00000_00001_sbs.mp4')).toMatch(/object-key safety rule.*control character \(U\+0009\)/);
  });

  it('needs a bucket for the URI', () => {
    expect(parseSegmentKey('', 'segments/job/00000_00001_sbs.mp4')).toEqual({ ok: false, reason: 'no bucket for the segment URI' });
  });

  it('round-trips every mode and the extremes of the five-digit fields', () => {
    for (const mode of ['anaglyph', 'sbs'] as const) {
      for (const [segmentIndex, totalSegments] of [[0, 1], [0, MAX_SEGMENTS], [MAX_SEGMENTS - 1, MAX_SEGMENTS], [9, 10], [10, 11]] as const) {
        const parts = { jobId: 'a/b c/é', segmentIndex, totalSegments, mode };
        const key = segmentKey(parts);
        expect(parsed('bkt', key)).toEqual({ ...parts, segmentS3Uri: `s3://bkt/${key}` });
      }
    }
  });
});

// VideoWorkerPayload's constraints (test_models.py TestVideoWorkerPayload: ge=0, ge=1) and
// the five-digit fields, enforced by the builder so it never makes a key the parser refuses.
describe('segmentKey refuses what parseSegmentKey would', () => {
  const base: SegmentKeyParts = { jobId: 'job-1', segmentIndex: 0, totalSegments: 5, mode: 'sbs' };
  it.each<[string, Partial<SegmentKeyParts>]>([
    ['test_invalid_negative_segment_index', { segmentIndex: -1 }],
    ['test_invalid_zero_total_segments', { totalSegments: 0 }],
    ['index equal to total', { segmentIndex: 5 }],
    ['a six-digit total', { totalSegments: 100_000, segmentIndex: 0 }],
    ['a fractional index', { segmentIndex: 1.5 }],
    ['NaN', { segmentIndex: Number.NaN }],
    ['an unknown mode', { mode: 'SBS' as StereoMode }],
    ['an empty job id', { jobId: '' }],
    ['a job id with ".."', { jobId: '../x' }],
    ['a job id with a trailing "/"', { jobId: 'x/' }],
    ['a job id too long for a segment key', { jobId: 'j'.repeat(992) }],
  ])('%s', (_name, change) => {
    expect(() => segmentKey({ ...base, ...change })).toThrow(RangeError);
  });

  it('takes the longest job id a segment key can hold', () => {
    const jobId = 'j'.repeat(1024 - 'segments/'.length - '/00000_00001_anaglyph.mp4'.length);
    const key = segmentKey({ jobId, segmentIndex: 0, totalSegments: 1, mode: 'anaglyph' });
    expect(new TextEncoder().encode(key).length).toBe(1024);
    expect(parseSegmentKey('b', key).ok).toBe(true);
  });
});

describe('input keys (test_keys.py TestInputKeyParser)', () => {
  it('test_valid_input_key', () => {
    expect(parseInputKey('input/job-abc/source.mp4')).toEqual({ ok: true, jobId: 'job-abc' });
    expect(parseInputKey('input/xyz-123/source.mp4')).toEqual({ ok: true, jobId: 'xyz-123' });
  });

  it.each([
    'input/job-abc/source.mp4 ',
    ' input/job-abc/source.mp4',
    'output/job-abc/source.mp4',
    'input/job-abc/other.mp4',
    'input//source.mp4',
    'input/source.mp4',
    'input/job-abc/source.mp4/extra',
  ])('test_invalid_input_key_returns_none: %j', (key) => {
    const r = parseInputKey(key);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain('(stereo-spot input key rule)');
  });

  // Checked against upstream's parse_input_key like the segment cases above.
  it.each([
    ['input/a/b/source.mp4', 'a/b'],
    ['input/a/source.mp4/source.mp4', 'a/source.mp4'],
    ['input/ /source.mp4', ' '],
    ['input/é 🏉/source.mp4', 'é 🏉'],
  ])('takes %j: job id %j (it may contain "/")', (key, jobId) => {
    expect(parseInputKey(key)).toEqual({ ok: true, jobId });
  });

  it.each(['Input/a/source.mp4', 'input/a/Source.mp4', 'input/a/source.MP4', 'input/x/source.mp4\n', 'input/', 'input', '', 'input/a/source.mp4.mp4'])(
    'refuses %j, as upstream does', (key) => {
      const r = parseInputKey(key);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('(stereo-spot input key rule)');
    },
  );

  it.each(['input/./source.mp4', 'input/../source.mp4', 'input//a/source.mp4', 'input/a//source.mp4', 'input/x\u0000y/source.mp4', 'input/a\\b/source.mp4'])(
    'refuses %j by the safety rule (upstream takes it)', (key) => {
      const r = parseInputKey(key);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain('(object-key safety rule)');
    },
  );

  it('builds what it parses', () => {
    for (const jobId of ['job-abc', 'a/b', '550e8400-e29b-41d4-a716-446655440000']) {
      expect(inputKey(jobId)).toBe(`input/${jobId}/source.mp4`);
      expect(parseInputKey(inputKey(jobId))).toEqual({ ok: true, jobId });
    }
    expect(() => inputKey('')).toThrow(RangeError);
    expect(() => inputKey('a/../b')).toThrow(RangeError);
  });
});

// Ported from packages/media-worker/tests/test_output_key.py and
// packages/video-worker/tests/test_output_key.py.
describe('output keys', () => {
  it('test_build_final_key', () => {
    expect(finalKey('job-abc')).toBe('jobs/job-abc/final.mp4');
    expect(finalKey('xyz')).toBe('jobs/xyz/final.mp4');
  });

  it('test_build_output_segment_key (the index is not zero-padded)', () => {
    expect(segmentOutputKey('job-123', 0)).toBe('jobs/job-123/segments/0.mp4');
    expect(segmentOutputKey('job-abc', 42)).toBe('jobs/job-abc/segments/42.mp4');
    expect(segmentOutputKey('j', 99_998)).toBe('jobs/j/segments/99998.mp4');
  });

  it('the output URI of a completion and of the inference request', () => {
    expect(segmentOutputUri('out', 'job-1', 3)).toBe('s3://out/jobs/job-1/segments/3.mp4');
    expect(s3Uri('in', 'segments/j/00000_00001_sbs.mp4')).toBe('s3://in/segments/j/00000_00001_sbs.mp4');
  });

  it('refuses what makes no key', () => {
    expect(() => segmentOutputKey('j', -1)).toThrow(RangeError);
    expect(() => segmentOutputKey('j', 0.5)).toThrow(RangeError);
    expect(() => segmentOutputKey('', 0)).toThrow(RangeError);
    expect(() => finalKey('..')).toThrow(RangeError);
    expect(() => segmentOutputUri('', 'j', 0)).toThrow(RangeError);
    expect(() => s3Uri('a/b', 'k')).toThrow(RangeError);
    expect(() => s3Uri('b', '')).toThrow(RangeError);
  });

  it('lists a job\'s segments under segments/{job_id}/', () => {
    expect(segmentsPrefix('job-1')).toBe('segments/job-1/');
  });
});

describe('jobIdProblem', () => {
  it.each(['job-1', 'a/b', 'é', '550e8400-e29b-41d4-a716-446655440000'])('takes %j', (id) => {
    expect(jobIdProblem(id)).toBeNull();
  });

  it.each([
    ['', /empty/],
    ['..', /".." segment/],
    ['a/./b', /"\." segment/],
    ['/a', /empty path segment/],
    ['a\nb', /control character/],
    ['a\\b', /backslash/],
    ['j'.repeat(992), /longer than 1024 bytes/],
  ])('refuses %j', (id, why) => {
    expect(jobIdProblem(id)).toMatch(why);
  });
});

describe('parseS3Uri', () => {
  it.each([
    ['s3://bucket/key', 'bucket', 'key'],
    ['s3://out/jobs/j/segments/0.mp4', 'out', 'jobs/j/segments/0.mp4'],
    ['s3://b/a//b', 'b', 'a//b'],
    ['s3://b/a b+%2F', 'b', 'a b+%2F'],
  ])('%j', (uri, bucket, key) => {
    expect(parseS3Uri(uri)).toEqual({ ok: true, bucket, key });
  });

  it.each(['https://b/k', 'S3://b/k', 's3:/b/k', 's3://bucket', 's3:///key', 's3://b/', ''])('refuses %j', (uri) => {
    expect(parseS3Uri(uri).ok).toBe(false);
  });

  it('reads back what segmentOutputUri writes', () => {
    expect(parseS3Uri(segmentOutputUri('out', 'a/b', 7))).toEqual({ ok: true, bucket: 'out', key: 'jobs/a/b/segments/7.mp4' });
  });
});

describe('isStereoMode (test_models.py TestCreateJobRequest: only anaglyph and sbs)', () => {
  it('takes the two modes, nothing else', () => {
    expect(isStereoMode('anaglyph')).toBe(true);
    expect(isStereoMode('sbs')).toBe(true);
    for (const m of ['invalid', 'SBS', 'Anaglyph', '', null, undefined, 1]) expect(isStereoMode(m)).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { parseReassemblyBody, reassemblyBody } from '../../src/domain/stereo/reassembly-message.js';

// Ported from stereo-spot ecba15e packages/shared-types/tests/test_models.py
// TestReassemblyPayload and TestSerialization.test_reassembly_payload_round_trip.
describe('ReassemblyPayload (test_models.py)', () => {
  it('test_valid', () => {
    expect(parseReassemblyBody('{"job_id": "job-1"}')).toEqual({ ok: true, jobId: 'job-1' });
  });

  it('test_reassembly_payload_round_trip', () => {
    expect(parseReassemblyBody(reassemblyBody('job-xyz'))).toEqual({ ok: true, jobId: 'job-xyz' });
  });
});

describe('reassemblyBody', () => {
  // The right column is pydantic's ReassemblyPayload(job_id=…).model_dump_json() (pydantic
  // 2.13, run on upstream's shared-types): compact, non-ASCII as it is.
  it.each([
    ['j1', '{"job_id":"j1"}'],
    ['550e8400-e29b-41d4-a716-446655440000', '{"job_id":"550e8400-e29b-41d4-a716-446655440000"}'],
    ['é', '{"job_id":"é"}'],
    ['🏉', '{"job_id":"🏉"}'],
    ['a"b', '{"job_id":"a\\"b"}'],
    ['a/b', '{"job_id":"a/b"}'],
    ['\u2028x', '{"job_id":"\u2028x"}'],
    ['日本', '{"job_id":"日本"}'],
    ['a b', '{"job_id":"a b"}'],
  ])('%j → %s, as upstream sends it', (jobId, body) => {
    expect(reassemblyBody(jobId)).toBe(body);
    expect(parseReassemblyBody(body)).toEqual({ ok: true, jobId });
  });

  it('refuses a job id that makes no key', () => {
    expect(() => reassemblyBody('')).toThrow(RangeError);
    expect(() => reassemblyBody('../x')).toThrow(RangeError);
  });
});

describe('parseReassemblyBody', () => {
  it('ignores extra fields, as pydantic does by default', () => {
    expect(parseReassemblyBody('{"job_id":"a","x":1,"total_segments":3}')).toEqual({ ok: true, jobId: 'a' });
  });

  it('takes any JSON spacing and the last of duplicate keys (as Python json.loads does)', () => {
    expect(parseReassemblyBody(' {\n "job_id" : "a" } ')).toEqual({ ok: true, jobId: 'a' });
    expect(parseReassemblyBody('{"job_id":"a","job_id":"b"}')).toEqual({ ok: true, jobId: 'b' });
  });

  // Upstream's _parse_reassembly_body returns None for all of these except {"job_id": ""},
  // which pydantic takes (and DynamoDB then refuses on every retry).
  it.each([
    ['not JSON', 'job-1', /body is not JSON/],
    ['empty', '', /body is not JSON/],
    ['no job_id', '{}', /job_id is missing or not a string/],
    ['a number', '{"job_id": 1}', /job_id is missing or not a string/],
    ['true', '{"job_id": true}', /job_id is missing or not a string/],
    ['null', '{"job_id": null}', /job_id is missing or not a string/],
    ['an object', '{"job_id": {"S": "a"}}', /job_id is missing or not a string/],
    ['another name', '{"jobId": "a"}', /job_id is missing or not a string/],
    ['an array body', '[{"job_id": "a"}]', /body is not a JSON object/],
    ['a string body', '"a"', /body is not a JSON object/],
    ['null body', 'null', /body is not a JSON object/],
    ['an empty job_id', '{"job_id": ""}', /job_id is empty/],
    ['a ".." job_id', '{"job_id": ".."}', /job id makes an unsafe key/],
    ['a control character', '{"job_id": "a\\nb"}', /control character/],
  ])('refuses %s', (_name, body, why) => {
    const r = parseReassemblyBody(body);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toMatch(why);
      expect(r.reason).toMatch(/^reassembly message: /);
    }
  });
});

// What /health learns from the roles' own calls (src/runtime/dependency-health.ts): which
// errors mean "the service is down or refuses us" and which are answers; the tracker's
// down/up transitions, logs and gauge; and the proxy that reports every call of a port.
import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { DependencyHealth, watched } from '../../src/runtime/dependency-health.js';
import { isDependencyFailure, isOutage } from '../../src/domain/failure.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { LeaseLostError } from '../../src/ports/index.js';

const net = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
const aws = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('isDependencyFailure', () => {
  it.each([
    ['connection refused', net('ECONNREFUSED')],
    ['connection reset', net('ECONNRESET')],
    ['a timeout (smithy)', Object.assign(new Error('a request has exceeded the configured 30000 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' })],
    ['an AWS 503', aws('ServiceUnavailable', 503)],
    ['an AWS 500', aws('InternalFailure', 500)],
    ['AWS refusing the credentials (403)', aws('InvalidClientTokenId', 403)],
    ['PostgREST 401', Object.assign(new Error('jobs: Invalid API key'), { name: 'DbError', status: 401 })],
    ['PostgREST with no answer', Object.assign(new Error('jobs: fetch failed'), { name: 'DbError', status: 0 })],
    ['Redis unavailable', Object.assign(new Error('redis is reconnecting'), { name: 'RedisUnavailableError' })],
    ['a cause two levels down', new Error('upload failed', { cause: new Error('part 3', { cause: net('EPIPE') }) })],
  ])('%s: down', (_what, err) => {
    expect(isDependencyFailure(err)).toBe(true);
  });

  it.each([
    ['a missing key (404)', aws('NoSuchKey', 404)],
    ['a failed condition (400)', aws('ConditionalCheckFailedException', 400)],
    ['a lost lease', new LeaseLostError('receipt handle expired')],
    ['one call the IAM policy refuses (S3 403 AccessDenied)', aws('AccessDenied', 403)],
    ['one call the IAM policy refuses (DynamoDB AccessDeniedException)', aws('AccessDeniedException', 400)],
    ['a PostgREST 400 (bad column)', Object.assign(new Error('jobs: column x does not exist'), { name: 'DbError', status: 400 })],
    ['a plain error', new Error('ffmpeg exited 1')],
    ['not an error', 'boom'],
  ])('%s: up (it answered)', (_what, err) => {
    expect(isDependencyFailure(err)).toBe(false);
  });
});

describe('isOutage (what the engine waits out with the message kept)', () => {
  it.each([
    ['connection refused', net('ECONNREFUSED')],
    ['connection reset, wrapped by a transcode step', new Error('download failed', { cause: net('ECONNRESET') })],
    ['a timeout (smithy)', Object.assign(new Error('requestTimeout exceeded'), { name: 'TimeoutError' })],
    ['an AWS 503', aws('ServiceUnavailable', 503)],
    ['S3 SlowDown', aws('SlowDown', 503)],
    ['a 504 from a gateway', Object.assign(new Error('gateway timeout'), { status: 504 })],
    ['PostgREST with no answer', Object.assign(new Error('jobs: fetch failed'), { name: 'DbError', status: 0 })],
  ])('%s: an outage', (_what, err) => {
    expect(isOutage(err)).toBe(true);
  });

  it.each([
    ['an AWS 500 (an answer about this request)', aws('InternalFailure', 500)],
    ['refused credentials (403): waiting does not fix a key', aws('InvalidClientTokenId', 403)],
    ['PostgREST 401', Object.assign(new Error('jobs: Invalid API key'), { name: 'DbError', status: 401 })],
    ['a 4xx whose cause was a reset: the answer counts', Object.assign(new Error('conflict'), { status: 409, cause: net('ECONNRESET') })],
    ['a missing key (404)', aws('NoSuchKey', 404)],
    ['a plain error', new Error('FFmpeg exited 1')],
    ['a lost lease', new LeaseLostError('taken')],
    ['not an object', 'ECONNRESET'],
  ])('%s: not an outage', (_what, err) => {
    expect(isOutage(err)).toBe(false);
  });
});

describe('DependencyHealth', () => {
  function tracker() {
    let now = 1_000_000;
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({}, { write(s: string) { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    const metrics = new Metrics({ instanceId: 't', defaultMetrics: false });
    const deps = new DependencyHealth({ logger, metrics, now: () => now });
    return { deps, lines, metrics, tick: (ms: number) => { now += ms; } };
  }

  it('down on an unreachable error, naming it, until the next answer; logs each transition once', async () => {
    const { deps, lines, metrics, tick } = tracker();
    const added: string[] = [];
    deps.onAdded((n) => added.push(n));
    expect(deps.check('sqs')).toEqual({ ok: true, detail: 'not used yet' });
    deps.succeeded('sqs');
    deps.failed('sqs', net('ECONNREFUSED'));
    tick(12_000);
    deps.failed('sqs', net('ECONNRESET'));
    expect(deps.check('sqs')).toEqual({ ok: false, detail: 'down for 12 s: connect ECONNRESET 127.0.0.1:1' });
    const gauge = async () => (await metrics.registry.getSingleMetric('rugbyworker_dependency_up')!.get()).values.map((v) => [v.labels.dependency, v.value]);
    expect(await gauge()).toEqual([['sqs', 0]]);
    deps.failed('sqs', aws('NoSuchKey', 404)); // an answer: it is back
    expect(deps.check('sqs')).toEqual({ ok: true, detail: 'answering' });
    expect(await gauge()).toEqual([['sqs', 1]]);
    expect(lines.filter((l) => String(l.event_type).startsWith('dependency_')).map((l) => [l.event_type, l.dependency])).toEqual([
      ['dependency_down', 'sqs'], ['dependency_up', 'sqs'],
    ]);
    expect(lines.find((l) => l.event_type === 'dependency_up')?.down_seconds).toBe(12);
    expect(added).toEqual(['sqs']);
    // A late subscriber hears about the known ones.
    const late: string[] = [];
    deps.onAdded((n) => late.push(n));
    expect(late).toEqual(['sqs']);
  });

  it('down() lists what is unreachable now, by name, with when it went down and why (the device heartbeat reads it)', () => {
    const { deps, tick } = tracker();
    expect(deps.down()).toEqual([]);
    deps.failed('supabase', net('ECONNREFUSED'));
    tick(5_000);
    deps.failed('s3', net('ECONNRESET'));
    deps.succeeded('sqs');
    expect(deps.down()).toEqual([
      { name: 's3', since: 1_005_000, detail: 'connect ECONNRESET 127.0.0.1:1' },
      { name: 'supabase', since: 1_000_000, detail: 'connect ECONNREFUSED 127.0.0.1:1' },
    ]);
    deps.succeeded('s3');
    expect(deps.down().map((d) => d.name)).toEqual(['supabase']);
  });
});

describe('watched', () => {
  class Store {
    readonly bucket = 'b';
    #fail: unknown;
    failWith(err: unknown) { this.#fail = err; }
    async head(key: string) { if (this.#fail) throw this.#fail; return { key }; }
    sync() { return 42; }
    async *list() { yield 1; if (this.#fail) throw this.#fail; yield 2; }
  }

  it('reports every promise and every page of an async iterable; properties and sync methods pass through', async () => {
    const deps = new DependencyHealth();
    const raw = new Store();
    const store = watched(raw, 's3', deps);
    expect(store.bucket).toBe('b');
    expect(store.sync()).toBe(42);
    await expect(store.head('k')).resolves.toEqual({ key: 'k' });
    expect(deps.check('s3').ok).toBe(true);
    raw.failWith(net('ECONNREFUSED'));
    await expect(store.head('k')).rejects.toThrow('ECONNREFUSED');
    expect(deps.check('s3').ok).toBe(false);
    raw.failWith(undefined);
    const seen: unknown[] = [];
    for await (const v of store.list()) seen.push(v);
    expect(seen).toEqual([1, 2]);
    expect(deps.check('s3').ok).toBe(true);
    raw.failWith(net('ETIMEDOUT'));
    await expect((async () => { for await (const _ of store.list()) { /* drain */ } })()).rejects.toThrow('ETIMEDOUT');
    expect(deps.check('s3').ok).toBe(false);
  });

  it('leaves the queue depth (asked for /metrics) out: an unanswered or refused GetQueueAttributes is no outage', async () => {
    const deps = new DependencyHealth();
    const refused = Object.assign(new Error('not authorized to perform: sqs:GetQueueAttributes'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const down = net('ECONNREFUSED');
    const queue = watched({ name: 'q', depth: async () => { throw down; }, ack: async () => { throw down; } }, 'sqs', deps);
    await expect(queue.depth()).rejects.toBe(down);
    expect(deps.check('sqs')).toEqual({ ok: true, detail: 'not used yet' });
    // Every other call counts (a refusal by the IAM policy is an answer: isDependencyFailure).
    await expect(queue.ack()).rejects.toBe(down);
    expect(deps.check('sqs').ok).toBe(false);
    expect(isDependencyFailure(refused)).toBe(false);
  });

  it('marks the service down while a short call goes unanswered, up when it answers; long calls (a download, a long poll) may take their time', async () => {
    const deps = new DependencyHealth();
    let answer: (v: unknown) => void = () => undefined;
    const port = {
      head: () => new Promise((r) => { answer = r; }),
      download: () => new Promise((r) => setTimeout(r, 120)),
      receive: () => new Promise((r) => setTimeout(r, 120)),
    };
    const watchedPort = watched(port, 'dynamodb', deps, undefined, 50);
    const long = Promise.all([watchedPort.download(), watchedPort.receive()]);
    await new Promise((r) => setTimeout(r, 100));
    expect(deps.check('dynamodb').ok).toBe(true);
    await long;
    const hung = watchedPort.head();
    await new Promise((r) => setTimeout(r, 80));
    expect(deps.check('dynamodb')).toEqual({ ok: false, detail: expect.stringMatching(/^down for \d+ s: TimeoutError: head: no answer for 0.05 s$/) });
    answer('late');
    await expect(hung).resolves.toBe('late');
    expect(deps.check('dynamodb').ok).toBe(true);
  });
});

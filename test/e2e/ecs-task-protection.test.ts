// ECS task scale-in protection on the shipped executable (issue 11, "Done when"): with
// ECS_AGENT_URI pointing at a stand-in agent, a transcode worker protects its task when a
// job starts and clears it when the last one ends; SIGTERM mid-job leaves it cleared once
// the job has been released. Real fauxqs SQS + S3, real ffmpeg, the PostgREST stand-in.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { locateFfmpeg } from '../../src/runtime/ffmpeg/index.js';
import { spawnExe, waitForExit } from '../helpers/binary.js';
import { makeClip, startRugbyCodex, type RugbyCodex } from '../helpers/rugbycodex.js';
import { STATE_PATH, startAgentStandin, type AgentStandin } from '../helpers/ecs-agent-standin.js';
import { until as waitUntil } from '../helpers/wait.js';

type LogEvent = Record<string, unknown> & { event_type?: string };

const PROTECT = { ProtectionEnabled: true, ExpiresInMinutes: 60 };
const UNPROTECT = { ProtectionEnabled: false };

let codex: RugbyCodex;
let agent: AgentStandin;
let tmp: string;
let short: string;
let long: string;

beforeAll(async () => {
  const bins = await locateFfmpeg(process.env);
  tmp = await mkdtemp(join(tmpdir(), 'rw-ecs-'));
  short = join(tmp, 'short.mp4');
  long = join(tmp, 'long.mp4');
  [codex, agent] = await Promise.all([startRugbyCodex(), startAgentStandin(), makeClip(bins.ffmpeg, short, 2, '320x240'), makeClip(bins.ffmpeg, long, 40)]);
}, 60_000);

afterAll(async () => {
  await codex?.stop();
  await agent?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function startWorker(env: Record<string, string>) {
  const child = spawnExe(['--role', 'transcode'], { cwd: tmp, env });
  const events: LogEvent[] = [];
  let stderr = '';
  let buf = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      events.push(JSON.parse(buf.slice(0, nl)) as LogEvent);
      buf = buf.slice(nl + 1);
    }
  });
  const of = (type: string) => events.filter((e) => e.event_type === type);
  const until = (test: () => boolean, ms: number, what: string): Promise<boolean> =>
    waitUntil(what, ms, test, { everyMs: 25, diag: () => `${stderr} ${JSON.stringify(events.slice(-4))} agent: ${JSON.stringify(agent.requests)}` });
  return { child, of, until, stderr: () => stderr };
}

const requests = () => agent.requests.map(({ method, path, body }) => ({ method, path, body }));

describe('the executable on ECS (stand-in agent)', () => {
  it('protects the task while a job runs, clears it when the job ends, and after SIGTERM mid-job', async () => {
    const queues = await codex.createQueues({ visibilitySeconds: 300 });
    const w = startWorker(codex.workerEnv(queues.queueUrl, join(tmp, 'work'), { SHUTDOWN_GRACE_SECONDS: '2', ECS_AGENT_URI: agent.uri }));
    try {
      await w.until(() => w.of('consumer_started').length > 0, 20_000, 'worker started');
      expect(agent.requests).toEqual([]); // idle: nothing asked of the agent

      // A short job: protected from its start, cleared at its end.
      const a = await codex.seedUpload(short);
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: a.body }));
      await w.until(() => w.of('job_started').length === 1, 20_000, 'job a started');
      await w.until(() => agent.enabled(), 5_000, 'protection set');
      await w.until(() => w.of('job_succeeded').length === 1, 60_000, 'job a finished');
      await w.until(() => !agent.enabled(), 5_000, 'protection cleared');
      expect(requests()).toEqual([
        { method: 'PUT', path: STATE_PATH, body: PROTECT },
        { method: 'PUT', path: STATE_PATH, body: UNPROTECT },
      ]);
      // The protect came after the job started, the clear after it finished.
      expect(agent.requests[0]!.at).toBeGreaterThanOrEqual(Date.parse(String(w.of('job_started')[0]!.timestamp)) - 50);
      expect(agent.requests[1]!.at).toBeGreaterThanOrEqual(Date.parse(String(w.of('job_succeeded')[0]!.timestamp)) - 50);

      // A long job, then SIGTERM while it encodes.
      const b = await codex.seedUpload(long);
      await codex.sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: b.body }));
      await w.until(() => w.of('transcode_progress').some((e) => e.phase === 'transcoding' && e.job_id === b.job), 45_000, 'job b encoding');
      expect(agent.enabled()).toBe(true);
      const before = agent.requests.length;
      w.child.kill('SIGTERM');
      const code = await waitForExit(w.child, 20_000);
      expect({ code, stderr: w.stderr() }).toEqual({ code: 0, stderr: '' });
      expect(w.of('job_aborted').map((e) => e.job_id)).toEqual([b.job]);
      expect(agent.enabled()).toBe(false);
      expect(requests().slice(before - 1)).toEqual([
        { method: 'PUT', path: STATE_PATH, body: PROTECT },
        { method: 'PUT', path: STATE_PATH, body: UNPROTECT },
      ]);
      // Cleared only once the job was released (not at the signal).
      expect(agent.requests.at(-1)!.at).toBeGreaterThanOrEqual(Date.parse(String(w.of('job_aborted')[0]!.timestamp)) - 50);
      expect(w.of('task_protection_failed')).toEqual([]);
      expect(await codex.depth(queues.queueUrl)).toMatchObject({ visible: 1 });
    } finally {
      if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
  }, 180_000);
});

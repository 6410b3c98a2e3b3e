// Every place the worker starts FFmpeg or ffprobe (the job's encode and probe, the stereo
// frame count, the version check, the hardware test decode and encode) gives it only a media
// tool's variables: a stand-in binary records the environment it was started with while the
// worker's own holds credentials (issue 20 item 2).
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ffmpegVersion, probe, runFfmpeg, systemHwSources } from '../../src/runtime/ffmpeg/index.js';
import { countFrames } from '../../roles/stereo/media.js';

const SECRETS = { AWS_SECRET_ACCESS_KEY: 'aws-secret-for-env-test', SUPABASE_SERVICE_ROLE_KEY: 'svc-key-for-env-test', REDIS_URL: 'redis://:pw-for-env-test@h' };
let dir: string;
let tool: string;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rw-toolenv-'));
  tool = join(dir, 'ffmpeg');
  // Records its environment under its pid; answers as FFmpeg would enough for each caller to go on.
  await writeFile(tool, `#!/bin/sh\nenv > '${dir}/env.'$$\ncase "$*" in *-version*) echo 'ffmpeg version 5.1.6 Copyright';; *) echo '{"streams":[],"format":{}}';; esac\nexit 0\n`);
  await chmod(tool, 0o755);
  for (const [k, v] of Object.entries(SECRETS)) { saved[k] = process.env[k]; process.env[k] = v; }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('media tools start without the worker\'s secrets', () => {
  it('each start site: the tool ran, and none of its environments holds a credential', async () => {
    const hw = systemHwSources({ ffmpeg: tool });
    await ffmpegVersion(tool);
    await probe(tool, join(dir, 'in.mp4')).catch(() => undefined);
    await countFrames(tool, join(dir, 'in.mp4')).catch(() => undefined);
    await runFfmpeg(tool, ['-i', join(dir, 'in.mp4'), '-f', 'null', '-']);
    await hw.encoders();
    await hw.tryEncode(['-c:v', 'libx264'], 2);
    await hw.tryDecode([]);

    const envs = await Promise.all((await readdir(dir)).filter((f) => f.startsWith('env.')).map((f) => readFile(join(dir, f), 'utf8')));
    expect(envs.length).toBeGreaterThanOrEqual(8); // tryDecode runs the tool twice
    for (const env of envs) {
      expect(env).toMatch(/^PATH=/m);
      expect(Object.values(SECRETS).filter((s) => env.includes(s))).toEqual([]);
      expect(env.split('\n').filter((l) => /^(AWS_|SUPABASE_|REDIS_)/.test(l))).toEqual([]);
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { mediaToolEnv } from '../../src/runtime/ffmpeg/child-env.js';

describe('mediaToolEnv', () => {
  it('keeps what a media tool may need and drops everything else, credentials first', () => {
    const env = mediaToolEnv({
      PATH: '/usr/bin', HOME: '/home/scribe', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', TMPDIR: '/tmp', LD_LIBRARY_PATH: '/usr/lib/aarch64-linux-gnu/tegra',
      CUDA_VISIBLE_DEVICES: '0', NVIDIA_DRIVER_CAPABILITIES: 'video',
      AWS_ACCESS_KEY_ID: 'AKIA…', AWS_SECRET_ACCESS_KEY: 's3cr3t', AWS_SESSION_TOKEN: 'tok', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x',
      WASABI_KEY: 'k', WASABI_SECRET: 's', SUPABASE_SERVICE_ROLE_KEY: 'svc', SUPABASE_ANON_KEY: 'anon', AXIOM_API_TOKEN: 'axiom', REDIS_URL: 'redis://:pw@h',
      UNSET: undefined,
    });
    expect(env).toEqual({
      PATH: '/usr/bin', HOME: '/home/scribe', LANG: 'C.UTF-8', LC_ALL: 'C', TZ: 'UTC', TMPDIR: '/tmp', LD_LIBRARY_PATH: '/usr/lib/aarch64-linux-gnu/tegra',
      CUDA_VISIBLE_DEVICES: '0', NVIDIA_DRIVER_CAPABILITIES: 'video',
    });
  });
});

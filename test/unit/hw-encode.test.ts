// Hardware encode detection (issue 19) on the machines of test/fixtures/hw/: platform files
// and ffmpeg's encoder list from the fixture, the test encode's result made up by the test.
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import { videoEncoderArgs } from '../../src/domain/rugbycodex/hls-ladder.js';
import { cachedHwEncode, detectHwEncode } from '../../src/runtime/ffmpeg/index.js';
import { clearDeviceCondition, deviceConditions, HW_ENCODE } from '../../src/runtime/device-conditions.js';
import { HW_FIXTURES, decodeWorks, fixtureSources, type TestRun } from '../helpers/hw-fixtures.js';

const auto = { choice: 'auto', streams: 4 } as const;
const fails = (detail: string): TestRun => () => ({ ok: false, detail });
/** The encoder a test encode was asked for. */
const encoderOf = (args: string[]) => args[args.indexOf('-c:v') + 1];

afterEach(() => clearDeviceCondition(HW_ENCODE));

describe('detectHwEncode on fixtures', () => {
  it('desktop NVIDIA: h264_nvenc, verified by a test encode with the ladder\'s own NVENC arguments in as many streams as rungs', async () => {
    const src = fixtureSources('desktop-nvidia');
    const v = await detectHwEncode(src, auto);
    expect(v).toEqual({ encoder: 'h264_nvenc', hardware: true, platform: 'NVIDIA driver 550.54.14', reason: 'h264_nvenc listed and encoded a test clip' });
    expect(src.encodeCalls).toHaveLength(1);
    const rates = { videoKbps: 500, maxrateKbps: 550, bufsizeKbps: 1000 };
    expect(src.encodeCalls[0]).toEqual({ args: videoEncoderArgs('h264_nvenc', { rungs: [rates, rates, rates, rates], segmentSeconds: 2, fps: 25 }), streams: 4 });
    expect(src.encodeCalls[0]!.args).toEqual(expect.arrayContaining(['-forced-idr', '-b:v:3']));
    expect(deviceConditions()).toEqual([]);
  });

  it('desktop NVIDIA whose test encode fails: libx264, the reason in one line, and the device reported degraded', async () => {
    const v = await detectHwEncode(fixtureSources('desktop-nvidia', decodeWorks, [], fails('OpenEncodeSessionEx failed: incompatible client key (21)')), auto);
    expect(v).toEqual({
      encoder: 'libx264', hardware: false, platform: 'NVIDIA driver 550.54.14',
      reason: 'h264_nvenc listed but test encode failed: OpenEncodeSessionEx failed: incompatible client key (21)',
    });
    expect(deviceConditions()).toEqual([expect.objectContaining({ name: HW_ENCODE, detail: `${v.reason}; encoding with libx264` })]);
  });

  it('a plain x86 build that lists h264_nvenc on a machine without a GPU: libx264, and not degraded', async () => {
    const v = await detectHwEncode(fixtureSources('none', decodeWorks, [], fails('Cannot load libcuda.so.1')), auto);
    expect(v).toEqual({ encoder: 'libx264', hardware: false, platform: 'generic', reason: 'h264_nvenc listed but test encode failed: Cannot load libcuda.so.1' });
    expect(deviceConditions()).toEqual([]);
  });

  it('Jetson Nano, JetPack 4: h264_nvv4l2enc with a fixed GOP (no forced keyframes)', async () => {
    const src = fixtureSources('jetson-nano-jp4');
    const v = await detectHwEncode(src, { choice: 'auto', streams: 2 });
    expect(v).toMatchObject({ encoder: 'h264_nvv4l2enc', hardware: true, platform: 'Jetson Nano Developer Kit, L4T R32.7.1' });
    expect(src.encodeCalls.map((c) => [encoderOf(c.args), c.streams])).toEqual([['h264_nvv4l2enc', 2]]);
    expect(src.encodeCalls[0]!.args).not.toContain('-force_key_frames');
    expect(src.encodeCalls[0]!.args.slice(-2)).toEqual(['-g', '50']); // 2 s at the test clip's 25 fps
  });

  it('Orin Nano (JetPack 5, NVIDIA\'s build): libx264 without a test encode, the board has no encoder', async () => {
    const src = fixtureSources('orin-nano-jp5');
    const v = await detectHwEncode(src, auto);
    expect(v).toEqual({ encoder: 'libx264', hardware: false, platform: 'Jetson Orin Nano Developer Kit, L4T R35.4.1', reason: 'Orin Nano has no hardware encoder' });
    expect(src.encodeCalls).toEqual([]);
    expect(deviceConditions()).toEqual([]);
  });

  it('Orin Nano (JetPack 6, community nvmpi build that lists h264_nvmpi): still libx264, nothing tried', async () => {
    const src = fixtureSources('orin-nano-jp6');
    const v = await detectHwEncode(src, auto);
    expect(v.encoder).toBe('libx264');
    expect(v.reason).toBe('Orin Nano has no hardware encoder');
    expect(src.encodeCalls).toEqual([]);
  });

  it('HLS_ENCODER=jetson on that Orin Nano: the listed h264_nvmpi gets its test encode, which decides', async () => {
    const failing = fixtureSources('orin-nano-jp6', decodeWorks, [], fails('Could not open /dev/nvhost-msenc'));
    const v = await detectHwEncode(failing, { choice: 'jetson', streams: 1 });
    expect(v).toMatchObject({ encoder: 'libx264', reason: 'h264_nvmpi listed but test encode failed: Could not open /dev/nvhost-msenc' });
    expect(failing.encodeCalls.map((c) => encoderOf(c.args))).toEqual(['h264_nvmpi']);
    // A Jetson is a GPU: a listed encoder that fails its test makes the device degraded.
    expect(deviceConditions().map((c) => c.name)).toEqual([HW_ENCODE]);
    expect((await detectHwEncode(fixtureSources('orin-nano-jp6'), { choice: 'jetson', streams: 1 })).encoder).toBe('h264_nvmpi');
  });

  it('a Jetson build listing both: NVIDIA\'s h264_nvv4l2enc first, h264_nvmpi when it fails', async () => {
    const src = fixtureSources('jetson-nano-jp4', decodeWorks, [], (args) =>
      (encoderOf(args) === 'h264_nvv4l2enc' ? { ok: false, detail: 'Failed to open encoder' } : { ok: true, detail: 'encoded a test clip' }));
    const listed = await readFile(`${HW_FIXTURES}jetson-nano-jp4/encoders.txt`, 'utf8');
    src.encoders = async () => `${listed} V..... h264_nvmpi           nvmpi H.264 encoder wrapper (codec h264)\n`;
    const v = await detectHwEncode(src, auto);
    expect(v).toMatchObject({ encoder: 'h264_nvmpi', hardware: true });
    expect(src.encodeCalls.map((c) => encoderOf(c.args))).toEqual(['h264_nvv4l2enc', 'h264_nvmpi']);
  });

  it('both Jetson encoders failing: libx264, each failure named', async () => {
    const src = fixtureSources('jetson-nano-jp4', decodeWorks, [], (args) => ({ ok: false, detail: `${encoderOf(args)} broke` }));
    const listed = await readFile(`${HW_FIXTURES}jetson-nano-jp4/encoders.txt`, 'utf8');
    src.encoders = async () => `${listed} V..... h264_nvmpi           nvmpi H.264 encoder wrapper (codec h264)\n`;
    const v = await detectHwEncode(src, auto);
    expect(v.reason).toBe('h264_nvv4l2enc, h264_nvmpi listed but test encodes failed: h264_nvv4l2enc: h264_nvv4l2enc broke; h264_nvmpi: h264_nvmpi broke');
  });

  it('a Jetson with a stock ffmpeg (no Jetson encoder listed): libx264, no test encode', async () => {
    const src = fixtureSources('jetson-nano-jp4');
    src.encoders = async () => readFile(`${HW_FIXTURES}none/encoders.txt`, 'utf8');
    const v = await detectHwEncode(src, auto);
    expect(v.reason).toBe('Jetson platform but this ffmpeg lists no h264_nvv4l2enc or h264_nvmpi encoder');
    expect(src.encodeCalls).toEqual([]);
  });

  it('HLS_ENCODER=nvenc where the build has no NVENC, and HLS_ENCODER=libx264 which probes nothing', async () => {
    expect((await detectHwEncode(fixtureSources('jetson-nano-jp4'), { choice: 'nvenc', streams: 1 })).reason).toBe('HLS_ENCODER=nvenc but this ffmpeg lists no h264_nvenc');
    const src = fixtureSources('desktop-nvidia');
    const v = await detectHwEncode(src, { choice: 'libx264', streams: 4 });
    expect(v).toMatchObject({ encoder: 'libx264', hardware: false, reason: 'HLS_ENCODER=libx264' });
    expect({ lists: src.listCalls, encodes: src.encodeCalls.length }).toEqual({ lists: 0, encodes: 0 });
  });

  it('a tryEncode that throws counts as a failed test encode', async () => {
    const src = fixtureSources('desktop-nvidia');
    src.tryEncode = async () => { throw new Error('spawn ffmpeg EACCES\nmore'); };
    const v = await detectHwEncode(src, auto);
    expect(v).toMatchObject({ encoder: 'libx264', reason: 'h264_nvenc listed but test encode failed: spawn ffmpeg EACCES' });
  });
});

describe('cachedHwEncode', () => {
  it('one detection per ffmpeg binary and setting, shared by concurrent callers', async () => {
    const src = fixtureSources('desktop-nvidia');
    const paths = { ffmpeg: '/fake/ffmpeg-encode-cache-test' };
    const first = cachedHwEncode(paths, auto, src);
    expect(cachedHwEncode(paths, auto, src)).toBe(first);
    expect(await cachedHwEncode(paths, auto, fixtureSources('none'))).toBe(await first);
    expect(src.encodeCalls).toHaveLength(1);
    // Another setting is another verdict.
    expect((await cachedHwEncode(paths, { choice: 'libx264', streams: 4 }, src)).encoder).toBe('libx264');
  });
});

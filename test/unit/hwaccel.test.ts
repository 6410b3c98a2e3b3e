import { readFile } from 'node:fs/promises';
import { describe, it, expect } from '@jest/globals';
import { cachedHwDecode, detectHwDecode, parseCodecList, parseHwaccels } from '../../src/runtime/ffmpeg/index.js';
import { clearDeviceCondition, deviceConditions, HW_DECODE } from '../../src/runtime/device-conditions.js';
import { HW_FIXTURES as FIXTURES, decodeWorks, fixtureSources } from '../helpers/hw-fixtures.js';

describe('detectHwDecode on fixtures', () => {
  it('Jetson Nano, JetPack 4: nvv4l2dec, with a hardware encoder', async () => {
    const src = fixtureSources('jetson-nano-jp4');
    const v = await detectHwDecode(src);
    expect(v).toEqual({
      kind: 'jetson',
      h264InputArgs: ['-c:v', 'h264_nvv4l2dec'],
      hevcInputArgs: ['-c:v', 'hevc_nvv4l2dec'],
      platform: 'Jetson Nano Developer Kit, L4T R32.7.1',
      reason: 'h264_nvv4l2dec listed and decoded a test frame',
    });
    expect(src.decodeCalls).toEqual([['-c:v', 'h264_nvv4l2dec']]);
  });

  it('Orin Nano, JetPack 5: nvv4l2dec', async () => {
    const v = await detectHwDecode(fixtureSources('orin-nano-jp5'));
    expect(v.kind).toBe('jetson');
    expect(v.h264InputArgs).toEqual(['-c:v', 'h264_nvv4l2dec']);
    expect(v.hevcInputArgs).toEqual(['-c:v', 'hevc_nvv4l2dec']);
    expect(v.platform).toBe('Jetson Orin Nano Developer Kit, L4T R35.4.1');
  });

  it('Orin Nano, JetPack 6 with a community nvmpi build: nvmpi', async () => {
    const v = await detectHwDecode(fixtureSources('orin-nano-jp6'));
    expect(v.kind).toBe('jetson');
    expect(v.h264InputArgs).toEqual(['-c:v', 'h264_nvmpi']);
    expect(v.hevcInputArgs).toEqual(['-c:v', 'hevc_nvmpi']);
    expect(v.platform).toBe('Jetson Orin Nano Developer Kit, L4T R36.3.0');
    expect(v.reason).toBe('h264_nvmpi listed and decoded a test frame');
  });

  it('recognises a Jetson from the device-tree compatible list alone (model lacks "Jetson")', async () => {
    const v = await detectHwDecode(fixtureSources('orin-nano-jp6', decodeWorks, ['nv_tegra_release']));
    expect(v.kind).toBe('jetson');
    expect(v.platform).toBe('Jetson Orin Nano Developer Kit');
  });

  it('desktop NVIDIA: hwaccel cuda first', async () => {
    const src = fixtureSources('desktop-nvidia');
    const v = await detectHwDecode(src);
    expect(v).toEqual({
      kind: 'nvidia',
      h264InputArgs: ['-hwaccel', 'cuda'],
      hevcInputArgs: ['-hwaccel', 'cuda'],
      platform: 'NVIDIA driver 550.54.14',
      reason: 'hwaccel cuda listed and decoded a test frame',
    });
  });

  it('desktop NVIDIA: falls through to h264_cuvid when hwaccel cuda fails', async () => {
    const src = fixtureSources('desktop-nvidia', (args) =>
      args.includes('cuda') ? { ok: false, detail: 'Cannot load libcuda.so.1' } : { ok: true, detail: 'ok' });
    const v = await detectHwDecode(src);
    expect(v.kind).toBe('nvidia');
    expect(v.h264InputArgs).toEqual(['-c:v', 'h264_cuvid']);
    expect(v.hevcInputArgs).toEqual(['-c:v', 'hevc_cuvid']);
    expect(src.decodeCalls).toEqual([['-hwaccel', 'cuda'], ['-c:v', 'h264_cuvid']]);
  });

  it('plain x86 build listing cuda/cuvid whose test decodes fail ends as software, saying why', async () => {
    const src = fixtureSources('none', (args) => ({
      ok: false,
      detail: args.includes('cuda') ? 'Cannot load libcuda.so.1' : 'Cannot load libnvcuvid.so.1',
    }));
    const v = await detectHwDecode(src);
    expect(v).toEqual({
      kind: 'none',
      h264InputArgs: [],
      hevcInputArgs: [],
      platform: 'generic',
      reason: 'hwaccel cuda, h264_cuvid listed but test decodes failed: hwaccel cuda: Cannot load libcuda.so.1; h264_cuvid: Cannot load libnvcuvid.so.1',
    });
    expect(v.reason).not.toContain('\n');
    expect(src.decodeCalls).toHaveLength(2);
  });

  it('a listed Jetson decoder whose test decode fails falls back to software with the reason', async () => {
    const v = await detectHwDecode(fixtureSources('orin-nano-jp5', () => ({ ok: false, detail: 'Could not open /dev/nvhost-nvdec' })));
    expect(v.kind).toBe('none');
    expect(v.h264InputArgs).toEqual([]);
    expect(v.platform).toBe('Jetson Orin Nano Developer Kit, L4T R35.4.1');
    expect(v.reason).toBe('h264_nvv4l2dec listed but test decode failed: Could not open /dev/nvhost-nvdec');
  });

  it('a GPU whose listed decoders all fail marks the device degraded (hardware decode condition); a build merely listing them on a machine without one does not', async () => {
    clearDeviceCondition(HW_DECODE);
    await detectHwDecode(fixtureSources('none', () => ({ ok: false, detail: 'Cannot load libcuda.so.1' })));
    expect(deviceConditions()).toEqual([]);
    await detectHwDecode(fixtureSources('jetson-nano-jp4', () => ({ ok: true, detail: 'ok' })));
    expect(deviceConditions()).toEqual([]);
    await detectHwDecode(fixtureSources('orin-nano-jp5', () => ({ ok: false, detail: 'Could not open /dev/nvhost-nvdec' })));
    expect(deviceConditions()).toEqual([expect.objectContaining({
      name: HW_DECODE, detail: 'h264_nvv4l2dec listed but test decode failed: Could not open /dev/nvhost-nvdec; decoding in software',
    })]);
    clearDeviceCondition(HW_DECODE);
    await detectHwDecode(fixtureSources('desktop-nvidia', () => ({ ok: false, detail: 'Cannot load libnvcuvid.so.1' })));
    expect(deviceConditions().map((c) => c.name)).toEqual([HW_DECODE]);
    clearDeviceCondition(HW_DECODE);
  });

  it('a tryDecode that throws counts as a failed decode', async () => {
    const src = fixtureSources('jetson-nano-jp4');
    src.tryDecode = async () => { throw new Error('spawn ffmpeg EACCES'); };
    const v = await detectHwDecode(src);
    expect(v.kind).toBe('none');
    expect(v.reason).toContain('spawn ffmpeg EACCES');
  });

  it('Jetson platform with a stock ffmpeg: no candidates, no decode attempted', async () => {
    const src = fixtureSources('jetson-nano-jp4');
    src.decoders = async () => (await readFile(`${FIXTURES}none/decoders.txt`, 'utf8'));
    const v = await detectHwDecode(src);
    expect(v.kind).toBe('none');
    expect(v.reason).toMatch(/Jetson platform but .*no h264_nvv4l2dec or h264_nvmpi/);
    expect(src.decodeCalls).toEqual([]);
  });
});

describe('cachedHwDecode', () => {
  it('probes the sources once per process, sharing the promise between concurrent callers', async () => {
    const src = fixtureSources('desktop-nvidia');
    const paths = { ffmpeg: '/fake/ffmpeg-cache-test' };
    const first = cachedHwDecode(paths, src);
    const second = cachedHwDecode(paths, src);
    expect(second).toBe(first);
    const third = await cachedHwDecode(paths, fixtureSources('none'));
    expect(third).toBe(await first);
    expect(third.kind).toBe('nvidia');
    expect(src.listCalls).toBe(2); // decoders + hwaccels, once each
    expect(src.decodeCalls).toHaveLength(1);
  });
});

describe('list parsers', () => {
  it('parseCodecList skips the legend and reads names', async () => {
    const names = parseCodecList(await readFile(`${FIXTURES}none/decoders.txt`, 'utf8'));
    expect(names.has('h264_cuvid')).toBe(true);
    expect(names.has('h264')).toBe(true);
    expect(names.has('=')).toBe(false);
    expect(names.has('------')).toBe(false);
  });

  it('parseHwaccels drops the heading', () => {
    expect([...parseHwaccels('Hardware acceleration methods:\nvdpau\ncuda\n\n')]).toEqual(['vdpau', 'cuda']);
  });
});

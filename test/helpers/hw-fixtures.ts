// HwProbeSources fed from test/fixtures/hw/<machine>/ (platform files, ffmpeg's codec lists),
// with test decodes and encodes answered by the test, and every call recorded.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLATFORM_FILES } from '../../src/runtime/ffmpeg/index.js';
import type { HwProbeSources } from '../../src/runtime/ffmpeg/index.js';

export const HW_FIXTURES = fileURLToPath(new URL('../fixtures/hw/', import.meta.url));

const FILE_NAMES: Record<string, string> = {
  [PLATFORM_FILES.tegraRelease]: 'nv_tegra_release',
  [PLATFORM_FILES.compatible]: 'compatible',
  [PLATFORM_FILES.model]: 'model',
  [PLATFORM_FILES.nvidiaDriver]: 'nvidia_version',
};

export type TestRun = (args: string[]) => { ok: boolean; detail: string };

export interface RecordedSources extends HwProbeSources {
  decodeCalls: string[][];
  encodeCalls: Array<{ args: string[]; streams: number }>;
  listCalls: number;
}

export const decodeWorks: TestRun = () => ({ ok: true, detail: 'decoded a test frame' });
export const encodeWorks: TestRun = () => ({ ok: true, detail: 'encoded a test clip' });

export function fixtureSources(name: string, decode: TestRun = decodeWorks, skipFiles: string[] = [], encode: TestRun = encodeWorks): RecordedSources {
  const read = async (file: string) => {
    try {
      return await readFile(`${HW_FIXTURES}${name}/${file}`, 'utf8');
    } catch {
      return null;
    }
  };
  const sources: RecordedSources = {
    decodeCalls: [],
    encodeCalls: [],
    listCalls: 0,
    readFile: async (path) => {
      const file = FILE_NAMES[path] ?? basename(path);
      return skipFiles.includes(file) ? null : read(file);
    },
    decoders: async () => { sources.listCalls++; return (await read('decoders.txt')) ?? ''; },
    hwaccels: async () => { sources.listCalls++; return (await read('hwaccels.txt')) ?? ''; },
    encoders: async () => { sources.listCalls++; return (await read('encoders.txt')) ?? ''; },
    tryDecode: async (args) => {
      sources.decodeCalls.push(args);
      return decode(args);
    },
    tryEncode: async (args, streams) => {
      sources.encodeCalls.push({ args, streams });
      return encode(args);
    },
  };
  return sources;
}

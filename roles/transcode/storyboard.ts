// The storyboard's VTT, written once the ladder's FFmpeg has exited: the sheets it made in
// the same pass are on disk, and the first rendition's playlist has the real segment durations.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { segmentDurations } from '../../src/domain/rugbycodex/hls-playlist.js';
import { RENDITION_PLAYLIST } from '../../src/domain/rugbycodex/hls-ladder.js';
import { buildStoryboardVtt, TILE_WIDTH, VTT_NAME } from '../../src/domain/rugbycodex/storyboard.js';
import { THUMBNAILS_FOLDER } from '../../src/domain/rugbycodex/streaming-layout.js';

export interface StoryboardFiles {
  readonly sheets: number;
  readonly frameCount: number;
  readonly width: number;
  readonly height: number;
}

const SHEET = /^storyboard_\d{3,}\.jpg$/;

/** Writes thumbnails/storyboard.vtt in `outDir`; null when FFmpeg made no sheet (nothing to point at). */
export async function writeStoryboardVtt(outDir: string, rendition: string, tileHeight: number): Promise<StoryboardFiles | null> {
  const folder = join(outDir, THUMBNAILS_FOLDER);
  const sheets = (await readdir(folder).catch(() => [] as string[])).filter((f) => SHEET.test(f)).length;
  if (sheets === 0) return null;
  const durations = segmentDurations(await readFile(join(outDir, rendition, RENDITION_PLAYLIST), 'utf8'));
  const vtt = buildStoryboardVtt(durations, sheets, tileHeight);
  await writeFile(join(folder, VTT_NAME), vtt.text);
  return { sheets, frameCount: vtt.frameCount, width: TILE_WIDTH, height: tileHeight };
}

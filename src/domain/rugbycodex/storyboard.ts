// The hover-preview storyboard (RUGBYCODEX.md step 7): 320-pixel-wide thumbnails, 5 × 5 on
// a sheet (storyboard_000.jpg, …), one per HLS segment, and storyboard.vtt with one cue per
// thumbnail whose times follow the playlist's real segment durations. The frames are
// picked inside the ladder's own FFmpeg pass: the first frame at or after each segment
// boundary, the same rule (`gte(t, n × segment)`) that forces the segments' keyframes.
export const TILE_WIDTH = 320;
export const SHEET_COLUMNS = 5;
export const SHEET_ROWS = 5;
export const TILES_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS;
export const SHEET_PATTERN = 'storyboard_%03d.jpg';
export const VTT_NAME = 'storyboard.vtt';

export function sheetName(index: number): string {
  return `storyboard_${String(index).padStart(3, '0')}.jpg`;
}

/** A tile's height for a picture shown `width` × `height`: the aspect kept, even (JPEG chroma), at least 2. */
export function tileHeight(width: number, height: number): number {
  if (!(width > 0) || !(height > 0)) throw new RangeError(`picture size must be positive, got ${width}x${height}`);
  return Math.max(2, Math.round((height * TILE_WIDTH) / width / 2) * 2);
}

/** The filter chain (after a split of the decoded video) that makes the sheets. */
export function storyboardFilter(segmentSeconds: number, height: number): string {
  // The comma inside select's expression is escaped for the filter graph parser.
  return `select=gte(t\\,selected_n*${segmentSeconds}),scale=${TILE_WIDTH}:${height},setsar=1,tile=${SHEET_COLUMNS}x${SHEET_ROWS}`;
}

export interface StoryboardVtt {
  text: string;
  /** Cues written: one per segment, bounded by the tiles the sheets can hold. */
  frameCount: number;
}

/** `HH:MM:SS.mmm` */
export function vttTimestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

/** The WebVTT of a storyboard: cue i spans segment i and points at its tile. */
export function buildStoryboardVtt(segmentDurations: readonly number[], sheets: number, height: number): StoryboardVtt {
  const frameCount = Math.min(segmentDurations.length, sheets * TILES_PER_SHEET);
  const lines = ['WEBVTT', ''];
  let at = 0;
  for (let i = 0; i < frameCount; i++) {
    const end = at + segmentDurations[i]!;
    const inSheet = i % TILES_PER_SHEET;
    const x = (inSheet % SHEET_COLUMNS) * TILE_WIDTH;
    const y = Math.floor(inSheet / SHEET_COLUMNS) * height;
    lines.push(`${vttTimestamp(at)} --> ${vttTimestamp(end)}`, `${sheetName(Math.floor(i / TILES_PER_SHEET))}#xywh=${x},${y},${TILE_WIDTH},${height}`, '');
    at = end;
  }
  return { text: lines.join('\n'), frameCount };
}

// ffprobe of a file we wrote ourselves (a storyboard sheet, an HLS playlist of the ladder):
// probe() reads only video containers (it is for uploads, src/domain/untrusted-media.ts),
// and a JPEG is an image, a playlist a list of other files.
import { execa } from 'execa';
import { parseProbeJson, type ProbeResult } from '../../src/runtime/ffmpeg/index.js';

export async function probeOwnOutput(ffprobe: string, file: string): Promise<ProbeResult> {
  const { stdout } = await execa(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file]);
  return parseProbeJson(JSON.parse(stdout));
}

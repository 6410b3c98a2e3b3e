// How much a process has read so far (rchar of /proc/PID/io): FFmpeg reads its input as it
// decodes, so this moves within a segment, where nothing else it does is visible (5.1's hls
// muxer keeps a segment in memory and writes the file only once it is closed).
import { readFile } from 'node:fs/promises';

/** Bytes `pid` has read, or null when /proc cannot tell (gone, not ours, no procfs). */
export async function bytesRead(pid: number): Promise<number | null> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => null);
  const rchar = io === null ? null : /^rchar:\s*(\d+)$/m.exec(io);
  return rchar ? Number(rchar[1]) : null;
}

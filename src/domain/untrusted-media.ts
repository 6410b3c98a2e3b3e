// What FFmpeg and ffprobe may open when they read a video someone else made (issue 20).
// FFmpeg picks the demuxer from the content, and some demuxers open whatever the file
// names: an HLS playlist or a concat list of `file:///…` or `http://169.254.169.254/…`
// entries would be read and transcoded into the user's own output. So every open of an
// upload, a segment or a segment output allows only real video containers (none of them
// opens another file: mov's external references are off by default) and only the one
// protocol the input itself needs.

/**
 * Demuxers an upload may be read with (FFmpeg matches each name against the parts of a
 * demuxer's name: "mov" is "mov,mp4,m4a,3gp,3g2,mj2", "matroska" is "matroska,webm").
 * Phones, GoPro, DJI, most cameras: mov. WebM and MKV: matroska. AVCHD (.mts/.m2ts): mpegts.
 * Older camcorders: mpeg (program stream), dv, avi. Screen recorders: flv. WMV: asf.
 * Broadcast cameras: mxf.
 */
export const VIDEO_CONTAINERS: readonly string[] = ['mov', 'matroska', 'mpegts', 'mpeg', 'avi', 'flv', 'asf', 'mxf', 'dv'];

/** How FFmpeg reaches the input: a local file, or our loopback HTTP server (the transcode source). */
export type MediaTransport = 'file' | 'http';

const PROTOCOLS: Readonly<Record<MediaTransport, string>> = { file: 'file', http: 'http,tcp' };

/** Input options (before `-i`, or before ffprobe's input) for an untrusted video. */
export function untrustedInputArgs(transport: MediaTransport): string[] {
  return ['-protocol_whitelist', PROTOCOLS[transport], '-format_whitelist', VIDEO_CONTAINERS.join(',')];
}

/**
 * Input options for the ffconcat list reassembly writes itself: the concat demuxer for our
 * list only (`-safe 0`: it names absolute paths). The files it opens inherit both lists, and
 * each was read before with untrustedInputArgs, so none of them can be a list in turn.
 */
export function ownConcatListArgs(): string[] {
  return ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-format_whitelist', ['concat', ...VIDEO_CONTAINERS].join(',')];
}

/** What some refused demuxers read; any other is named as FFmpeg names it. */
const KINDS: ReadonlyArray<[RegExp, string]> = [
  [/^hls$/, 'an HLS playlist'],
  [/^concat$/, 'an FFmpeg concat list'],
  [/(^|,)(dash|webm_dash_manifest)(,|$)/, 'a DASH manifest'],
  [/^sdp$/, 'an SDP session description'],
  [/^tty$/, 'a text file'],
  [/^(image2|\w+_pipe)$/, 'an image'],
];

/**
 * Why FFmpeg refused an input under untrustedInputArgs, from its stderr ("[hls @ 0x…] Format
 * not on whitelist '…'", "Protocol 'file' not on whitelist '…'!"), as the end of a sentence
 * whose subject the caller names: "<the upload> is an HLS playlist, not a video container".
 * null when the failure was something else (a corrupt file, a cut connection).
 */
export function refusedInput(stderr: string): string | null {
  const format = /\[([\w,.-]+) @ 0x[0-9a-f]+\] Format not on whitelist/.exec(stderr)?.[1];
  if (format !== undefined) {
    const kind = KINDS.find(([re]) => re.test(format))?.[1] ?? `in the ${format} format`;
    return `${kind}, not a video container`;
  }
  const protocol = /Protocol '([^']*)' not on whitelist/.exec(stderr)?.[1];
  if (protocol !== undefined) return `not a video on its own: it makes FFmpeg open a ${protocol} URL`;
  return null;
}

// Content-Type per uploaded HLS file: S3 serves back what it was given, and players
// (Safari's native HLS above all) refuse playlists and segments with the wrong type.

const BY_EXTENSION: Readonly<Record<string, string>> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4', // fMP4 init segments
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  vtt: 'text/vtt', // the storyboard's cues
};

export function contentTypeFor(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return 'application/octet-stream';
  return BY_EXTENSION[name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

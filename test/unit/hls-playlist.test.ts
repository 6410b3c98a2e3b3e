import { describe, expect, it } from '@jest/globals';
import {
  completedSegments, hasByteRanges, initSegment, initSegments, isEndList, masterVariants, resolvePlaylistUri,
} from '../../src/domain/rugbycodex/hls-playlist.js';

// As ffmpeg 5.1 writes them (-f hls -hls_time 2, -var_stream_map, -master_pl_name).
const TS_VOD = `#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000000,
seg_000.ts
#EXTINF:2.000000,
seg_001.ts
#EXTINF:1.000000,
seg_002.ts
#EXT-X-ENDLIST
`;

const FMP4_VOD = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:2.000000,
seg_000.m4s
#EXTINF:2.000000,
seg_001.m4s
#EXTINF:1.000000,
seg_002.m4s
#EXT-X-ENDLIST
`;

// -hls_playlist_type event, mid-run: rewritten after each closed segment, no ENDLIST yet.
const FMP4_EVENT_IN_PROGRESS = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_1.mp4"
#EXTINF:2.000000,
seg_000.m4s
#EXTINF:2.000000,
seg_001.m4s
`;

const TS_LIVE_IN_PROGRESS = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:2.000000,
seg_000.ts
`;

const MASTER = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=955900,RESOLUTION=640x360,CODECS="avc1.f4001e,mp4a.40.2"
360p/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=405900,RESOLUTION=320x180,CODECS="avc1.f4000c,mp4a.40.2"
180p/index.m3u8

`;

describe('completedSegments', () => {
  it('lists the segments of a finished ts VOD playlist in order', () => {
    expect(completedSegments(TS_VOD)).toEqual(['seg_000.ts', 'seg_001.ts', 'seg_002.ts']);
  });

  it('lists fmp4 media segments, not the init section', () => {
    expect(completedSegments(FMP4_VOD)).toEqual(['seg_000.m4s', 'seg_001.m4s', 'seg_002.m4s']);
  });

  it('lists what an in-progress playlist has so far', () => {
    expect(completedSegments(FMP4_EVENT_IN_PROGRESS)).toEqual(['seg_000.m4s', 'seg_001.m4s']);
    expect(completedSegments(TS_LIVE_IN_PROGRESS)).toEqual(['seg_000.ts']);
  });

  it('ignores a last line cut mid-write (a prefix of a real name)', () => {
    const cut = `${TS_LIVE_IN_PROGRESS}#EXTINF:2.000000,\nseg_00`;
    expect(completedSegments(cut)).toEqual(['seg_000.ts']);
    // The same URI once its newline is there.
    expect(completedSegments(`${cut}1.ts\n`)).toEqual(['seg_000.ts', 'seg_001.ts']);
  });

  it('an empty or truncated-to-nothing read lists nothing', () => {
    expect(completedSegments('')).toEqual([]);
    expect(completedSegments('#EXTM3U\n#EXT-X-VERS')).toEqual([]);
  });

  it('accepts CRLF line ends and an ENDLIST without a final newline', () => {
    expect(completedSegments(TS_VOD.replace(/\n/g, '\r\n'))).toEqual(['seg_000.ts', 'seg_001.ts', 'seg_002.ts']);
    expect(completedSegments(TS_VOD.trimEnd())).toEqual(['seg_000.ts', 'seg_001.ts', 'seg_002.ts']);
  });

  it('lists a byte-range file once (-hls_flags single_file)', () => {
    const single = `#EXTM3U
#EXT-X-VERSION:4
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:2.000000,
#EXT-X-BYTERANGE:182924@0
out.ts
#EXTINF:2.000000,
#EXT-X-BYTERANGE:224284@182924
out.ts
#EXT-X-ENDLIST
`;
    expect(completedSegments(single)).toEqual(['out.ts']);
    expect(hasByteRanges(single)).toBe(true);
    expect(hasByteRanges(TS_VOD)).toBe(false);
  });

  it('does not take a master playlist\'s variant lines for segments', () => {
    expect(completedSegments(MASTER)).toEqual([]);
  });
});

describe('isEndList', () => {
  it('is true for finished playlists only', () => {
    expect(isEndList(TS_VOD)).toBe(true);
    expect(isEndList(FMP4_VOD)).toBe(true);
    expect(isEndList(TS_VOD.trimEnd())).toBe(true);
    expect(isEndList(FMP4_EVENT_IN_PROGRESS)).toBe(false);
    expect(isEndList(TS_LIVE_IN_PROGRESS)).toBe(false);
  });

  it('a cut "#EXT-X-ENDL" is not the end', () => {
    expect(isEndList(`${TS_LIVE_IN_PROGRESS}#EXT-X-ENDL`)).toBe(false);
  });
});

describe('initSegment', () => {
  it('reads the EXT-X-MAP URI of an fmp4 playlist', () => {
    expect(initSegment(FMP4_VOD)).toBe('init_0.mp4');
    expect(initSegment(FMP4_EVENT_IN_PROGRESS)).toBe('init_1.mp4');
  });

  it('is null for ts', () => {
    expect(initSegment(TS_VOD)).toBeNull();
  });

  it('reads URI among other attributes; initSegments lists each map once', () => {
    const text = '#EXTM3U\n#EXT-X-MAP:BYTERANGE="815@0",URI="a.mp4"\n#EXTINF:2,\na.mp4\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="b.mp4"\n#EXT-X-MAP:URI="a.mp4"\n';
    expect(initSegment(text)).toBe('a.mp4');
    expect(initSegments(text)).toEqual(['a.mp4', 'b.mp4']);
    expect(hasByteRanges(text)).toBe(true);
  });

  it('ignores a map line cut mid-write', () => {
    expect(initSegment('#EXTM3U\n#EXT-X-MAP:URI="init_0.m')).toBeNull();
  });
});

describe('masterVariants', () => {
  it('lists the variant playlists of an ffmpeg master', () => {
    expect(masterVariants(MASTER)).toEqual(['360p/index.m3u8', '180p/index.m3u8']);
  });

  it('includes audio groups and I-frame playlists, each once', () => {
    const text = `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio_0",DEFAULT=YES,URI="audio/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=1280x720,AUDIO="aud"
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,RESOLUTION=640x360,AUDIO="aud"
360p/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,URI="720p/iframes.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="cc",INSTREAM-ID="CC1"
`;
    expect(masterVariants(text)).toEqual(['audio/index.m3u8', '720p/index.m3u8', '360p/index.m3u8', '720p/iframes.m3u8']);
  });

  it('is empty for a media playlist', () => {
    expect(masterVariants(TS_VOD)).toEqual([]);
  });
});

describe('resolvePlaylistUri', () => {
  it('resolves against the playlist\'s folder', () => {
    expect(resolvePlaylistUri('720p/index.m3u8', 'seg_000.ts')).toBe('720p/seg_000.ts');
    expect(resolvePlaylistUri('master.m3u8', '720p/index.m3u8')).toBe('720p/index.m3u8');
    expect(resolvePlaylistUri('720p/index.m3u8', '../shared/init.mp4')).toBe('shared/init.mp4');
    expect(resolvePlaylistUri('720p/index.m3u8', 'seg_000.ts?token=1')).toBe('720p/seg_000.ts');
  });

  it('is null for what is not a file under the output folder', () => {
    expect(resolvePlaylistUri('720p/index.m3u8', 'https://cdn.example/seg.ts')).toBeNull();
    expect(resolvePlaylistUri('720p/index.m3u8', '/tmp/seg.ts')).toBeNull();
    expect(resolvePlaylistUri('720p/index.m3u8', '../../seg.ts')).toBeNull();
    expect(resolvePlaylistUri('index.m3u8', '..')).toBeNull();
    expect(resolvePlaylistUri('720p/index.m3u8', '..')).toBeNull();
  });
});

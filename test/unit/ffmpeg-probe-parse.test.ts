import { describe, it, expect } from '@jest/globals';
import { parseProbeJson } from '../../src/runtime/ffmpeg/index.js';

// Captured from Debian ffprobe 5.1 (`-v error -print_format json -show_format -show_streams`),
// `disposition` objects trimmed. A 29.97 fps clip with a 90° display matrix and no audio.
const ROTATED_NO_AUDIO = {"streams": [{"index": 0, "codec_name": "h264", "codec_long_name": "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10", "profile": "High", "codec_type": "video", "codec_tag_string": "avc1", "codec_tag": "0x31637661", "width": 320, "height": 240, "coded_width": 320, "coded_height": 240, "closed_captions": 0, "film_grain": 0, "has_b_frames": 2, "sample_aspect_ratio": "1:1", "display_aspect_ratio": "4:3", "pix_fmt": "yuv420p", "level": 13, "chroma_location": "left", "field_order": "progressive", "refs": 1, "is_avc": "true", "nal_length_size": "4", "id": "0x1", "r_frame_rate": "30000/1001", "avg_frame_rate": "30000/1001", "time_base": "1/30000", "start_pts": 0, "start_time": "0.000000", "duration_ts": 30030, "duration": "1.001000", "bit_rate": "57230", "bits_per_raw_sample": "8", "nb_frames": "30", "extradata_size": 44, "tags": {"language": "und", "handler_name": "VideoHandler", "vendor_id": "[0][0][0][0]", "encoder": "Lavc59.37.100 libx264"}, "side_data_list": [{"side_data_type": "Display Matrix", "displaymatrix": "\n00000000:            0      -65536           0\n00000001:        65536           0           0\n00000002:            0           0  1073741824\n", "rotation": 90}]}], "format": {"filename": "rot2.mp4", "nb_streams": 1, "nb_programs": 0, "format_name": "mov,mp4,m4a,3gp,3g2,mj2", "format_long_name": "QuickTime / MOV", "start_time": "0.000000", "duration": "1.001000", "size": "8394", "bit_rate": "67084", "probe_score": 100, "tags": {"major_brand": "isom", "minor_version": "512", "compatible_brands": "isomiso2avc1mp41", "encoder": "Lavf59.27.100"}}};

// Same ffprobe: testsrc + sine, H.264 + AAC. The audio stream's avg_frame_rate is "0/0".
const VIDEO_AND_AUDIO = {"streams": [{"index": 0, "codec_name": "h264", "codec_long_name": "H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10", "profile": "High", "codec_type": "video", "codec_tag_string": "avc1", "codec_tag": "0x31637661", "width": 320, "height": 240, "coded_width": 320, "coded_height": 240, "closed_captions": 0, "film_grain": 0, "has_b_frames": 2, "sample_aspect_ratio": "1:1", "display_aspect_ratio": "4:3", "pix_fmt": "yuv420p", "level": 13, "chroma_location": "left", "field_order": "progressive", "refs": 1, "is_avc": "true", "nal_length_size": "4", "id": "0x1", "r_frame_rate": "25/1", "avg_frame_rate": "25/1", "time_base": "1/12800", "start_pts": 0, "start_time": "0.000000", "duration_ts": 12800, "duration": "1.000000", "bit_rate": "58472", "bits_per_raw_sample": "8", "nb_frames": "25", "extradata_size": 46, "tags": {"language": "und", "handler_name": "VideoHandler", "vendor_id": "[0][0][0][0]", "encoder": "Lavc59.37.100 libx264"}}, {"index": 1, "codec_name": "aac", "codec_long_name": "AAC (Advanced Audio Coding)", "profile": "LC", "codec_type": "audio", "codec_tag_string": "mp4a", "codec_tag": "0x6134706d", "sample_fmt": "fltp", "sample_rate": "48000", "channels": 1, "channel_layout": "mono", "bits_per_sample": 0, "id": "0x2", "r_frame_rate": "0/0", "avg_frame_rate": "0/0", "time_base": "1/48000", "start_pts": 0, "start_time": "0.000000", "duration_ts": 48000, "duration": "1.000000", "bit_rate": "70441", "nb_frames": "48", "extradata_size": 5, "tags": {"language": "und", "handler_name": "SoundHandler", "vendor_id": "[0][0][0][0]"}}], "format": {"filename": "av.mp4", "nb_streams": 2, "nb_programs": 0, "format_name": "mov,mp4,m4a,3gp,3g2,mj2", "format_long_name": "QuickTime / MOV", "start_time": "0.000000", "duration": "1.000000", "size": "18482", "bit_rate": "147856", "probe_score": 100, "tags": {"major_brand": "isom", "minor_version": "512", "compatible_brands": "isomiso2avc1mp41", "encoder": "Lavf59.27.100"}}};

describe('parseProbeJson', () => {
  it('parses a rotated clip without audio', () => {
    const r = parseProbeJson(ROTATED_NO_AUDIO);
    expect(r.durationSeconds).toBeCloseTo(1.001, 6);
    expect(r.sizeBytes).toBe(8394);
    expect(r.formatName).toBe('mov,mp4,m4a,3gp,3g2,mj2');
    expect(r.bitRate).toBe(67084);
    expect(r.audio).toBeNull();
    expect(r.streams).toHaveLength(1);
    expect(r.video).toBe(r.streams[0]);
    expect(r.video).toMatchObject({ index: 0, codecType: 'video', codecName: 'h264', width: 320, height: 240, rotation: 90, frames: 30 });
    expect(r.video?.frameRate).toBeCloseTo(29.97, 2);
    expect(r.video?.durationSeconds).toBeCloseTo(1.001, 6);
  });

  it('parses video + audio; "0/0" frame rate is left out, no rotation when none is set', () => {
    const r = parseProbeJson(VIDEO_AND_AUDIO);
    expect(r.video).toMatchObject({ index: 0, codecName: 'h264', frameRate: 25, frames: 25 });
    expect(r.video).not.toHaveProperty('rotation');
    expect(r.audio).toEqual({ index: 1, codecType: 'audio', codecName: 'aac', durationSeconds: 1, frames: 48, channels: 1, bitRate: 70441 });
  });

  it('reads the legacy rotate tag when there is no display matrix', () => {
    const json = structuredClone(VIDEO_AND_AUDIO) as { streams: Array<Record<string, unknown>> };
    json.streams[0]!.tags = { rotate: '270' };
    expect(parseProbeJson(json).video?.rotation).toBe(270);
  });

  it('maps N/A and missing values to null instead of NaN', () => {
    const r = parseProbeJson({
      streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', avg_frame_rate: '0/0', duration: 'N/A' }],
      format: { format_name: 'mpegts', duration: 'N/A', size: '1000' },
    });
    expect(r.durationSeconds).toBeNull();
    expect(r.bitRate).toBeNull();
    expect(r.video?.durationSeconds).toBeNull();
    expect(r.video?.frames).toBeNull();
    expect(r.video).not.toHaveProperty('frameRate');
    expect(r.video).not.toHaveProperty('width');
  });

  it('skips an attached cover picture when choosing the video stream', () => {
    const r = parseProbeJson({
      streams: [
        { index: 0, codec_type: 'audio', codec_name: 'mp3' },
        { index: 1, codec_type: 'video', codec_name: 'mjpeg', disposition: { attached_pic: 1 } },
      ],
      format: { format_name: 'mp3', size: '10' },
    });
    expect(r.video).toBeNull();
    expect(r.audio?.codecName).toBe('mp3');
    expect(r.streams).toHaveLength(2);
  });

  it('returns an empty result for an empty document', () => {
    expect(parseProbeJson({})).toEqual({
      durationSeconds: null, sizeBytes: 0, formatName: '', bitRate: null, streams: [], video: null, audio: null,
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import { ENCODER_CHOICES, encoderCandidates, encoderChoice, isHardwareEncoder } from '../../src/domain/rugbycodex/video-encoder.js';

const desktop = { jetson: false, orinNano: false };
const nano = { jetson: true, orinNano: false };
const orinNano = { jetson: true, orinNano: true };

describe('encoderCandidates', () => {
  it('auto: NVENC off a Jetson, NVIDIA\'s Jetson encoder then the community one on a Jetson, none on an Orin Nano', () => {
    expect(encoderCandidates('auto', desktop)).toEqual({ encoders: ['h264_nvenc'] });
    expect(encoderCandidates('auto', nano)).toEqual({ encoders: ['h264_nvv4l2enc', 'h264_nvmpi'] });
    expect(encoderCandidates('auto', orinNano)).toEqual({ encoders: [], none: 'Orin Nano has no hardware encoder' });
  });

  it('a named family is tried whatever the platform (the test encode decides); libx264 tries nothing', () => {
    expect(encoderCandidates('nvenc', orinNano)).toEqual({ encoders: ['h264_nvenc'] });
    expect(encoderCandidates('jetson', orinNano)).toEqual({ encoders: ['h264_nvv4l2enc', 'h264_nvmpi'] });
    expect(encoderCandidates('jetson', desktop)).toEqual({ encoders: ['h264_nvv4l2enc', 'h264_nvmpi'] });
    expect(encoderCandidates('libx264', desktop)).toEqual({ encoders: [], none: 'HLS_ENCODER=libx264' });
  });
});

describe('encoderChoice', () => {
  it('takes the four settings and refuses anything else', () => {
    for (const c of ENCODER_CHOICES) expect(encoderChoice(c)).toBe(c);
    expect(() => encoderChoice('h264_nvenc')).toThrow(/HLS_ENCODER must be one of auto, libx264, nvenc, jetson/);
  });

  it('only libx264 is software', () => {
    expect(isHardwareEncoder('libx264')).toBe(false);
    expect(['h264_nvenc', 'h264_nvv4l2enc', 'h264_nvmpi'].every((e) => isHardwareEncoder(e as 'h264_nvenc'))).toBe(true);
  });
});

// Local stereo's progress: segments chunked, inferred and joined out of the total, one
// percentage and an ETA. Inference is most of the work (chunking is a stream copy, the join
// too), so it weighs most; the ETA is the pace so far applied to what is left.

export interface StereoCounts {
  /** From the first segment key (it carries total_segments); null while chunking has made none. */
  total: number | null;
  chunked: number;
  inferred: number;
  /** total once final.mp4 is written: the join is one step. */
  joined: number;
}

const WEIGHT = { chunked: 0.1, inferred: 0.8, joined: 0.1 } as const;

export function stereoProgress(c: StereoCounts, elapsedSeconds: number): { percent: number; etaSeconds: number | null } {
  if (c.total === null || c.total < 1) return { percent: 0, etaSeconds: null };
  const part = (n: number): number => Math.min(1, Math.max(0, n / c.total!));
  const done = WEIGHT.chunked * part(c.chunked) + WEIGHT.inferred * part(c.inferred) + WEIGHT.joined * part(c.joined);
  // No estimate before a segment has gone through inference: chunking's pace says nothing about it.
  const etaSeconds = c.inferred > 0 && done > 0 && elapsedSeconds > 0 ? Math.round(elapsedSeconds * (1 - done) / done) : null;
  return { percent: Math.min(100, Math.floor(done * 100 + 1e-9)), etaSeconds };
}

// The seed's lease sizing (visibility_heartbeat.py): an initial visibility timeout that
// grows with the input, so a crashed worker's small job is retried soon while a large
// one is not handed to a second worker mid-transcode before the first heartbeat.

const MB = 1024 ** 2;
const GB = 1024 ** 3;

/** Upper bounds (exclusive) in bytes and the timeout in seconds below each. */
const TABLE: ReadonlyArray<readonly [number, number]> = [
  [100 * MB, 300], // 5 min
  [500 * MB, 600], // 10 min
  [1 * GB, 900], // 15 min
  [2 * GB, 1500], // 25 min
  [4 * GB, 2700], // 45 min
];
/** ≥ 4 GB: 60 min, the seed's ceiling. */
export const LARGEST_INITIAL_TIMEOUT_SECONDS = 3600;
const LARGEST = LARGEST_INITIAL_TIMEOUT_SECONDS;

/** Initial visibility timeout in seconds for an input of `sizeBytes` (seed's table). */
export function calculateInitialTimeout(sizeBytes: number): number {
  // An unknown or nonsense size gets the most generous lease rather than the shortest.
  if (!Number.isFinite(sizeBytes) || sizeBytes < 0) return LARGEST;
  for (const [below, seconds] of TABLE) if (sizeBytes < below) return seconds;
  return LARGEST;
}

/** Minutes per GB for each stage, from the seed (transcode varies by codec/resolution). */
export const PROCESSING_MINUTES_PER_GB = { download: 0.5, transcode: 8, upload: 0.75 } as const;

/** Estimated processing time in minutes for an input of `sizeGb` GB (download + transcode + upload). */
export function estimateProcessingTime(sizeGb: number): number {
  const { download, transcode, upload } = PROCESSING_MINUTES_PER_GB;
  return sizeGb * download + sizeGb * transcode + sizeGb * upload;
}

// Event timestamps as in the seed (`2024-01-15T10:30:45.123456Z`). Date.now() only has
// milliseconds, so the wall clock is anchored once to the monotonic high-resolution clock:
// the microseconds are real and never go backwards within the process.

/** Microseconds since the epoch → ISO-8601 UTC with six fractional digits. */
export function formatIsoMicros(epochMicros: bigint): string {
  // Floor division so instants before 1970 still get a 0..999 microsecond part.
  let ms = epochMicros / 1000n;
  let micros = epochMicros % 1000n;
  if (micros < 0n) {
    micros += 1000n;
    ms -= 1n;
  }
  const iso = new Date(Number(ms)).toISOString(); // …T10:30:45.123Z
  return `${iso.slice(0, -1)}${micros.toString().padStart(3, '0')}Z`;
}

// A wall clock step (NTP sync on a Jetson without RTC, a manual change) larger than this
// re-anchors; ordinary NTP slewing moves both clocks together and never reaches it.
const REANCHOR_MICROS = 100_000n;

/**
 * A clock returning epoch microseconds. Sources are injectable for tests; the defaults are
 * `Date.now` and `process.hrtime.bigint`.
 */
export function createMicrosClock(
  wallMs: () => number = Date.now,
  monoNs: () => bigint = process.hrtime.bigint,
): () => bigint {
  let anchorMicros = BigInt(wallMs()) * 1000n;
  let anchorNs = monoNs();
  return () => {
    const ns = monoNs();
    const now = anchorMicros + (ns - anchorNs) / 1000n;
    const wall = BigInt(wallMs()) * 1000n;
    const drift = now > wall ? now - wall : wall - now;
    if (drift <= REANCHOR_MICROS) return now;
    anchorMicros = wall;
    anchorNs = ns;
    return wall;
  };
}

const processClock = createMicrosClock();

/** Now, as ISO-8601 UTC with microseconds. */
export function isoMicros(): string {
  return formatIsoMicros(processClock());
}

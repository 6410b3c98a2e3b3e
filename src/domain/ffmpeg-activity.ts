// The stall watchdog's second look (issue 18). FFmpeg can work for a long time without a
// word: 5.1 holds -progress back until every output has written something (a storyboard
// sheet needs 25 segments), and it prints one stderr line a segment. So before killing a
// quiet FFmpeg the runner compares two cheap looks at what it has done: counters by name
// (segments closed, bytes of input read, …), null where one could not be read this time.

export type ActivitySignature = Readonly<Record<string, number | null>>;

/**
 * True when FFmpeg did something between two looks: a counter read both times changed, or
 * a counter appeared. A counter that could not be read (null) either time proves nothing.
 */
export function activityMoved(before: ActivitySignature | undefined, after: ActivitySignature): boolean {
  return Object.entries(after).some(([name, now]) => {
    if (now === null) return false;
    const then = before?.[name];
    if (then === undefined) return true;
    return then !== null && then !== now;
  });
}

// The one way a test waits for something: poll `check` until it gives a value (anything but
// undefined or false), or throw at the timeout naming what was awaited, with the caller's
// diagnosis (a worker's log tail) when it has one.
export interface UntilOptions {
  /** Said after "timed out waiting for …": what the test saw. */
  diag?: () => string;
  /** Between two checks; 200 ms unless a test needs to see a short-lived state. */
  everyMs?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: UntilOptions | (() => string) = {},
): Promise<T> {
  const { diag, everyMs = 200 } = typeof options === 'function' ? { diag: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${diag ? `\n${diag()}` : ''}`);
    await sleep(everyMs);
  }
}

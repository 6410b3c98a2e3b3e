export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** A failing required check makes `doctor` exit 1. */
  readonly required: boolean;
}

/** Runs a check with a time limit; a throw or a timeout is a failed check, never a crash. */
export async function timed(name: string, required: boolean, ms: number, fn: () => Promise<{ ok: boolean; detail: string }>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${ms / 1000} s` }), ms);
  });
  try {
    const r = await Promise.race([fn(), timeout]);
    return { name, required, ...r };
  } catch (err) {
    return { name, required, ok: false, detail: oneLine(err) };
  } finally {
    clearTimeout(timer);
  }
}

export function oneLine(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const msg = e?.message || e?.name || String(err);
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${msg}${cause && !msg.includes(cause) ? ` (${cause})` : ''}`.split('\n')[0] ?? '';
}

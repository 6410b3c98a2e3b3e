// Local mode on a terminal: the JSON events become one redrawn progress line plus a short
// line for anything that is not progress.
export function progressBarOutput(tty: NodeJS.WriteStream): { write(line: string): boolean } {
  let barShown = false;
  const clear = () => { if (barShown) tty.write('\r\x1b[2K'); barShown = false; };
  return {
    write(line: string) {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        clear();
        tty.write(line);
        return true;
      }
      if (e.event_type === 'transcode_progress') {
        const pct = Number(e.percent ?? 0);
        const width = 30;
        const done = Math.round((pct / 100) * width);
        const speed = typeof e.speed === 'number' ? ` ${e.speed.toFixed(2)}x` : '';
        tty.write(`\r\x1b[2K[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${String(pct).padStart(3)}% ${String(e.phase)}${speed}`);
        barShown = true;
        return true;
      }
      const sev = String(e.severity ?? 'info');
      if (sev === 'debug' || sev === 'trace' || (sev === 'info' && !String(e.event_type ?? '').startsWith('transcode_'))) return true;
      clear();
      tty.write(`${sev === 'info' ? '' : `${sev}: `}${String(e.message ?? e.event_type)}\n`);
      return true;
    },
  };
}

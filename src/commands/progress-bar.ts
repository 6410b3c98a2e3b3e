// Local mode on a terminal: the JSON events become one redrawn progress line (transcode's
// or stereo's progress events) plus a short line for anything that is not progress.
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
      if (e.event_type === 'transcode_progress' || e.event_type === 'stereo_progress') {
        const pct = Number(e.percent ?? 0);
        const width = 30;
        const done = Math.round((pct / 100) * width);
        tty.write(`\r\x1b[2K[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${String(pct).padStart(3)}% ${e.event_type === 'stereo_progress' ? stereoLabel(e) : transcodeLabel(e)}`);
        barShown = true;
        if (e.event_type === 'stereo_progress' && pct >= 100) {
          // The stereo job is done: the full bar stays on its own line, above the output path.
          tty.write('\n');
          barShown = false;
        }
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

function transcodeLabel(e: Record<string, unknown>): string {
  return `${String(e.phase)}${typeof e.speed === 'number' ? ` ${e.speed.toFixed(2)}x` : ''}`;
}

/** "3/8 chunked, 2/8 inferred, 0/8 joined, ETA 1:05" (the local stereo command's stereo_progress). */
export function stereoLabel(e: Record<string, unknown>): string {
  const total = typeof e.total === 'number' ? String(e.total) : '?';
  const eta = typeof e.eta_seconds === 'number' ? `, ETA ${Math.floor(e.eta_seconds / 60)}:${String(e.eta_seconds % 60).padStart(2, '0')}` : '';
  return `${String(e.chunked ?? 0)}/${total} chunked, ${String(e.inferred ?? 0)}/${total} inferred, ${String(e.joined ?? 0)}/${total} joined${eta}`;
}

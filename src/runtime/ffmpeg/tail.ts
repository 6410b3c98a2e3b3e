/** The last `max` lines of a text (for error messages). */
export function tailLines(text: string, max: number): string {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-max).join('\n');
}

/**
 * Keeps the last `max` lines of a stream with bounded memory: ffmpeg can log for
 * hours, and only the end explains a failure. Very long lines are truncated.
 */
export class LineTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly max = 40, private readonly maxLineChars = 2000) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (parts.pop() ?? '').slice(-this.maxLineChars);
    for (const line of parts) {
      if (line === '') continue;
      this.lines.push(line.slice(0, this.maxLineChars));
      if (this.lines.length > this.max) this.lines.shift();
    }
  }

  text(): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-this.max).join('\n');
  }
}

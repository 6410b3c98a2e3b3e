// Plays a player page (roles/transcode/serve/player-page.ts) in Debian's headless Chromium
// through playwright-core, the recipe in ../shared/PLATFORM.md. Playwright's browser
// downloads do not work here, so it drives /usr/bin/chromium.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface PlayResult {
  currentTime: number;
  fatal: string | null;
  levels: number;
}

export interface PlayOptions {
  /** Succeeds once the video's currentTime is past this. */
  seconds?: number;
  timeoutMs?: number;
}

/** Throws, saying how to install it, when Debian's chromium is missing (tests must not skip). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run \`bash build/ensure-system.sh chromium\` to install Debian's chromium`);
  }
}

interface PageState extends PlayResult { status: string }

// What the page callbacks touch; the project's tsconfig has no DOM lib.
interface PageGlobals {
  __player?: { fatal: string | null; levels: number };
  document: {
    querySelector(sel: 'video'): { currentTime: number } | null;
    getElementById(id: string): { textContent: string | null } | null;
  };
}

/**
 * Opens `url` and waits until the video plays past `seconds` or the page reports a fatal
 * error (`window.__player.fatal`); rejects on timeout with what the page showed. The
 * browser is always closed; playwright gives each launch a fresh temporary profile.
 */
export async function playInChromium(url: string, { seconds = 2, timeoutMs = 30_000 }: PlayOptions = {}): Promise<PlayResult> {
  requireChromium();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: timeoutMs });
  const logs: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { logs.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => { logs.push(`pageerror: ${e.message}`); });
    await page.goto(url, { timeout: timeoutMs });
    const read = (): Promise<PageState> => page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const video = g.document.querySelector('video');
      return {
        currentTime: video?.currentTime ?? 0,
        fatal: g.__player?.fatal ?? null,
        levels: g.__player?.levels ?? 0,
        status: g.document.getElementById('status')?.textContent ?? '',
      };
    });
    try {
      await page.waitForFunction((s) => {
        const g = globalThis as unknown as PageGlobals;
        const video = g.document.querySelector('video');
        return Boolean(g.__player?.fatal) || (video !== null && video.currentTime > s);
      }, seconds, { timeout: timeoutMs, polling: 100 });
    } catch (err) {
      const s = await read().catch(() => undefined);
      const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw new Error(`video did not pass ${seconds} s nor fail within ${timeoutMs} ms (${why}); `
        + `page: ${JSON.stringify(s)}; console: ${logs.slice(-10).join(' | ') || 'empty'}`, { cause: err });
    }
    const { currentTime, fatal, levels } = await read();
    return { currentTime, fatal, levels };
  } finally {
    await browser.close();
  }
}

// The page `rugbyworker transcode … --serve` shows: one <video> playing the master
// playlist with hls.js (served at /hls.min.js), or natively where the browser plays
// HLS itself (Safari). A status line says which rendition plays and any error, and
// `window.__player` lets a browser test read the outcome without scraping text.

export interface PlayerPageOptions {
  title: string;
  /** URL of the master playlist, relative to the page or absolute. */
  masterUrl: string;
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** JSON for inside a <script>: `<` escaped so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

// Runs in the browser, so plain ES2017 with no imports; `Hls` is hls.js's global.
const PLAYER_SCRIPT = `
(function () {
  var video = document.getElementById('video');
  var status = document.getElementById('status');
  var state = { fatal: null, levels: 0, level: -1, native: false };
  window.__player = state;
  function show(text) { status.textContent = text; }
  function levelText(levels, i) {
    var l = levels[i];
    if (!l) return 'level ' + i;
    var size = l.height ? l.height + 'p' : 'level ' + i;
    return size + (l.bitrate ? ' @ ' + Math.round(l.bitrate / 1000) + ' kb/s' : '');
  }
  if (window.Hls && window.Hls.isSupported()) {
    var hls = new window.Hls();
    hls.on(window.Hls.Events.MANIFEST_PARSED, function (_e, data) {
      state.levels = data.levels.length;
      show(state.levels + ' renditions; starting');
    });
    hls.on(window.Hls.Events.LEVEL_SWITCHED, function (_e, data) {
      state.level = data.level;
      show('playing ' + levelText(hls.levels, data.level) + ' (' + state.levels + ' renditions)');
    });
    hls.on(window.Hls.Events.ERROR, function (_e, data) {
      var what = data.type + ': ' + data.details + (data.error ? ' (' + data.error.message + ')' : '');
      if (data.fatal) {
        state.fatal = what;
        show('fatal error: ' + what);
        hls.destroy();
      } else {
        console.warn('hls.js: ' + what);
      }
    });
    hls.loadSource(MASTER_URL);
    hls.attachMedia(video);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    state.native = true;
    video.src = MASTER_URL;
    show('native HLS playback');
  } else {
    state.fatal = 'this browser can play HLS neither with hls.js nor natively';
    show(state.fatal);
  }
  video.addEventListener('error', function () {
    var err = video.error;
    if (state.fatal || !err) return; // keep the first cause (hls.js reports its own)
    state.fatal = 'media error ' + err.code + (err.message ? ': ' + err.message : '');
    show(state.fatal);
  });
  // Muted autoplay is allowed everywhere; say so when a browser refuses anyway.
  video.play().catch(function (err) { if (!state.fatal) show('press play (' + err.name + ')'); });
})();
`;

/** A small self-contained HTML page playing `masterUrl`; hls.js comes from `/hls.min.js`. */
export function playerHtml({ title, masterUrl }: PlayerPageOptions): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<style>
  body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 16px; font-weight: 600; margin: 0 0 12px; word-break: break-all; }
  video { width: 100%; background: #000; aspect-ratio: 16 / 9; }
  #status { margin-top: 8px; font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<main>
<h1>${t}</h1>
<video id="video" controls muted autoplay playsinline></video>
<div id="status" role="status">loading ${escapeHtml(masterUrl)}</div>
</main>
<script src="/hls.min.js"></script>
<script>var MASTER_URL = ${scriptJson(masterUrl)};${PLAYER_SCRIPT}</script>
</body>
</html>
`;
}

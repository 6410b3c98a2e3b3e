// The Debian mirrors this machine's apt is configured with, for the image's debootstrap
// (build/image.mjs): one-line `deb URI SUITE COMPONENTS` (sources.list) and deb822
// stanzas (`URIs:` / `Suites:` in *.sources); and the deb822 file debian:bookworm-slim has.
// Pure; the caller reads and writes the files.

/** Every `deb` source in the text of one apt sources file: { uri, suites, components }. */
export function parseAptSources(text, { deb822 = false } = {}) {
  return deb822 ? parseDeb822(text) : parseOneLine(text);
}

function parseOneLine(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ')) continue;
    // `deb [arch=amd64 signed-by=…] URI SUITE COMP…`
    const words = line.slice(4).replace(/^\[[^\]]*\]\s*/, '').split(/\s+/).filter(Boolean);
    if (words.length < 2) continue;
    out.push({ uri: words[0], suites: [words[1]], components: words.slice(2) });
  }
  return out;
}

function parseDeb822(text) {
  const out = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = {};
    let last;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) { fields[last] += ` ${raw.trim()}`; continue; }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) { last = m[1].toLowerCase(); fields[last] = m[2].trim(); }
    }
    const types = (fields.types ?? '').split(/\s+/);
    if (!types.includes('deb') || /^no$/i.test(fields.enabled ?? 'yes')) continue;
    const words = (v) => (v ?? '').split(/\s+/).filter(Boolean);
    for (const uri of words(fields.uris)) {
      out.push({ uri, suites: words(fields.suites), components: words(fields.components) });
    }
  }
  return out;
}

/** The first source serving `suite` itself (not -updates or -security), else undefined. */
export function mirrorFor(sources, suite) {
  return sources.find((s) => s.suites.includes(suite))?.uri;
}

/** The deb822 debian.sources of a Debian image: the suite and its updates from `mirror`, its security suite from `security`. */
export function debianSources({ suite, mirror, security, keyring }) {
  return [
    `Types: deb\nURIs: ${mirror}\nSuites: ${suite} ${suite}-updates\nComponents: main\nSigned-By: ${keyring}\n`,
    `Types: deb\nURIs: ${security}\nSuites: ${suite}-security\nComponents: main\nSigned-By: ${keyring}\n`,
  ].join('\n');
}

// org.opencontainers.image.source, the image label that names where the code comes from: a
// public address, never what a git remote may carry (https://user:token@host/…, a token in
// the query, an ssh login). Pure; build/image.mjs reads the remote.

/**
 * The web address of a repository from a git remote or URL, without userinfo, query, fragment,
 * `.git` or a trailing slash; scp-like, ssh:// and git:// remotes become https on the same host.
 * '' for what is not a network remote (a local path, file://, something unparsable).
 */
export function publicSourceUrl(remote) {
  const text = (remote ?? '').trim();
  if (text === '') return '';
  let host;
  let path;
  let web = 'https:';
  let port = '';
  // git@github.com:owner/repo.git (scp-like: no scheme, a colon before any slash)
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/)(.+)$/.exec(text);
  if (!text.includes('://') && scp) {
    host = scp[1];
    path = scp[2];
  } else {
    let url;
    try {
      url = new URL(text);
    } catch {
      return '';
    }
    if (!['http:', 'https:', 'ssh:', 'git:', 'git+ssh:', 'ssh+git:'].includes(url.protocol) || url.hostname === '') return '';
    host = url.hostname;
    path = decodeURIComponent(url.pathname);
    // An http(s) remote is the web server's address already; ssh's and git's port is not its.
    if (url.protocol === 'http:' || url.protocol === 'https:') {
      web = url.protocol;
      if (url.port) port = `:${url.port}`;
    }
  }
  path = path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '');
  if (path === '' || /[\s@?#]/.test(path)) return '';
  return `${web}//${host}${port}/${path}`;
}

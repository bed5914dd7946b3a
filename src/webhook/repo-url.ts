// One key per repository, whatever form its URL is written in: https or http, ssh://
// with user and port, scp-like git@host:org/repo, with or without .git, a trailing
// slash, or upper case. Git hosts treat these as the same repository; so do we.

const schemeURL = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;
// user@host:path, the form `git clone` accepts for ssh (no scheme, a colon before any slash).
const scpLike = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.*)$/;

/**
 * The normalised key of a Git repository URL: lower-case `host/path`, without scheme,
 * user info, port, `.git` suffix or surrounding slashes. An `ssh.` or `altssh.` host
 * prefix (GitHub's and Bitbucket's ssh-over-443 hosts) is dropped too. Returns
 * undefined when the text has no host or no path.
 */
export function normalizeRepoURL(url: string): string | undefined {
  const text = url.trim();
  if (text === '') return undefined;
  let host: string;
  let path: string;
  const withScheme = schemeURL.exec(text);
  if (withScheme) {
    const rest = withScheme[2]!;
    const slash = rest.indexOf('/');
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    path = slash < 0 ? '' : rest.slice(slash);
    host = authority.slice(authority.lastIndexOf('@') + 1);
    host = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  } else {
    const scp = scpLike.exec(text);
    if (scp) {
      host = scp[1]!;
      path = scp[2]!;
    } else {
      // host/org/repo without a scheme
      const slash = text.indexOf('/');
      if (slash <= 0) return undefined;
      host = text.slice(0, slash);
      path = text.slice(slash);
    }
  }
  host = host.toLowerCase().replace(/^(?:alt)?ssh\./, '');
  path = path.split(/[?#]/, 1)[0]!;
  path = safeDecode(path)
    .toLowerCase()
    .replace(/\/{2,}/g, '/')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  if (host === '' || path === '') return undefined;
  return `${host}/${path}`;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

// `repoURLToHTTPS`: the browsable https URL of a Git repository URL.
//   git@github.com:org/repo.git          -> https://github.com/org/repo
//   ssh://git@host:2222/org/repo         -> https://host/org/repo
//   https://user:token@host/org/repo.git -> https://host/org/repo  (credentials dropped)
// Anything else is returned as it is.

const SCP_LIKE = /^(?:[^@/\s]+@)?([A-Za-z0-9.-]+):(?!\/\/)\/?(.+)$/;

export function repoURLToHTTPS(value: unknown): string {
  if (typeof value !== 'string') return value === undefined || value === null ? '' : String(value);
  const url = value.trim();
  if (!url.includes('://')) {
    const scp = SCP_LIKE.exec(url);
    return scp ? `https://${scp[1]}/${cleanPath(scp[2]!)}` : value;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return value;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const isWeb = scheme === 'https' || scheme === 'http';
  if (!isWeb && !['ssh', 'git', 'git+ssh', 'ssh+git'].includes(scheme)) return value;
  // An ssh port says nothing about the web server's port.
  const host = isWeb ? parsed.host : parsed.hostname;
  const path = cleanPath(decodeURIComponent(parsed.pathname));
  return `${isWeb ? scheme : 'https'}://${host}${path ? `/${path}` : ''}`;
}

function cleanPath(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '');
}

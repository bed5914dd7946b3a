// Where channels may send. A channel's URL comes from a tenant's Secret, so without a
// list herald would POST template-controlled JSON wherever a tenant points it (cloud
// metadata endpoints, in-cluster services) and report part of the answer in status.
// By default only DingTalk's robot host, over https; the operator admin extends the
// list with --dingtalk-allowed-hosts.
import { UsageError } from '../flags.js';

/** The flag that extends the list, for messages that tell the reader what to set. */
export const ALLOWED_HOSTS_FLAG = '--dingtalk-allowed-hosts';

/** DingTalk's robot endpoint host, always allowed (https only). */
export const DINGTALK_HOST = 'oapi.dingtalk.com';

export interface AllowedHost {
  /** `https:` or `http:` (an http entry allows https to the same host and port too). */
  protocol: 'https:' | 'http:';
  /** Lower-case host name or IP literal (IPv6 in brackets), as URL.hostname gives it. */
  hostname: string;
  /** A port number, 'default' for the scheme's own (443 for https, 80 for http), or '*' for any port. */
  port: number | 'default' | '*';
}

export interface HostAllowList {
  readonly entries: readonly AllowedHost[];
}

/** The list herald uses when the flag is not given: https://oapi.dingtalk.com only. */
export const DEFAULT_ALLOWED_HOSTS: HostAllowList = Object.freeze({
  entries: Object.freeze([{ protocol: 'https:', hostname: DINGTALK_HOST, port: 'default' }] as AllowedHost[]),
});

/**
 * Parses the flag's entries (`host`, `host:port`, `host:*`, each optionally prefixed
 * with `https://` or `http://`) and adds them to the default. Without a scheme an
 * entry allows https only; `http://` allows plain http (and https) for that host.
 * Without a port, the scheme's default port; `*` allows any port.
 */
export function parseAllowedHosts(values: readonly string[]): HostAllowList {
  const entries: AllowedHost[] = [...DEFAULT_ALLOWED_HOSTS.entries];
  for (const raw of values) {
    const value = raw.trim();
    if (value === '') continue;
    entries.push(parseEntry(value));
  }
  return Object.freeze({ entries: Object.freeze(entries) });
}

function parseEntry(value: string): AllowedHost {
  const bad = (why: string) => new UsageError(`${ALLOWED_HOSTS_FLAG}: "${value}" ${why}; expected host, host:port or host:* (optionally with http:// or https://)`);
  const schemeMatch = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  const scheme = schemeMatch ? schemeMatch[1]!.toLowerCase() : 'https';
  if (scheme !== 'https' && scheme !== 'http') throw bad(`has the scheme ${scheme}`);
  let rest = schemeMatch ? value.slice(schemeMatch[0].length) : value;
  rest = rest.replace(/\/$/, '');
  let anyPort = false;
  if (rest.endsWith(':*')) {
    anyPort = true;
    rest = rest.slice(0, -2);
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${rest}`);
  } catch {
    throw bad('is not a host');
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash || rest.includes('/') || rest.includes('@')) {
    throw bad('must name a host, nothing more');
  }
  const protocol = url.protocol as AllowedHost['protocol'];
  return {
    protocol,
    hostname: url.hostname.toLowerCase(),
    port: anyPort ? '*' : url.port === '' ? 'default' : Number(url.port),
  };
}

/** `http://127.0.0.1:*`, `oapi.dingtalk.com`: an entry as the flag would take it. */
export function formatAllowedHost(entry: AllowedHost): string {
  const port = entry.port === 'default' ? '' : `:${entry.port}`;
  return `${entry.protocol === 'http:' ? 'http://' : ''}${entry.hostname}${port}`;
}

/** Why a URL may not be used, or undefined when it may. Never quotes the URL: it holds the token. */
export function refusal(url: URL, list: HostAllowList): string | undefined {
  const protocol = url.protocol;
  if (protocol !== 'https:' && protocol !== 'http:') return `the webhook URL must be http(s), not ${protocol.replace(/:$/, '')}`;
  const hostname = url.hostname.toLowerCase();
  // URL drops a port that is the scheme's default, so '' means 443 for https, 80 for http.
  const port = url.port === '' ? 'default' : Number(url.port);
  const sameHost = list.entries.filter((e) => e.hostname === hostname && (e.port === '*' || e.port === port));
  const target = `${hostname}${url.port === '' ? '' : `:${url.port}`}`;
  const suggestion = `${protocol === 'http:' ? 'http://' : ''}${target}`;
  if (sameHost.length === 0) {
    return (
      `the webhook URL's host ${target} is not on herald's allow-list (${list.entries.map(formatAllowedHost).join(', ')}); ` +
      `use the robot's https://${DINGTALK_HOST}/robot/send?access_token=… URL, or ask the operator admin to allow the host ` +
      `with the controller flag ${ALLOWED_HOSTS_FLAG}=${suggestion}`
    );
  }
  if (protocol === 'http:' && !sameHost.some((e) => e.protocol === 'http:')) {
    return (
      `the webhook URL uses plain http to ${target}, which would send the access token unencrypted; use https, ` +
      `or ask the operator admin to allow http for this host with the controller flag ${ALLOWED_HOSTS_FLAG}=${suggestion}`
    );
  }
  return undefined;
}

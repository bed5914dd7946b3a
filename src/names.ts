// Kubernetes object names (RFC 1123), checked the way the API server does, in one place.

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_LABEL = new RegExp(`^${LABEL}$`);
const DNS_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

/** A namespace name: one DNS label, at most 63 characters. */
export function isNamespaceName(text: string): boolean {
  return text.length <= 63 && DNS_LABEL.test(text);
}

/** An object name (triggers, templates, channels, Secrets): a DNS subdomain, at most 253 characters. */
export function isObjectName(text: string): boolean {
  return text.length <= 253 && DNS_SUBDOMAIN.test(text);
}

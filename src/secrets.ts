// Secret values herald has read (robot tokens, signing secrets, webhook secrets) are
// registered here; maskSecrets() replaces them, and anything that looks like a
// DingTalk access token or signing secret, in every log line, Event, status and error.
const known = new Set<string>();

/** Remember a secret value so that it is masked wherever it might appear. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) known.add(value);
}

const patterns: Array<[RegExp, string]> = [
  [/(access_token=)[^&\s"'<>]+/gi, '$1***'],
  [/([?&](?:sign|token|secret)=)[^&\s"'<>]+/gi, '$1***'],
  [/\bSEC[0-9a-f]{20,}\b/g, 'SEC***'],
];

export function maskSecrets(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join('***');
    const encoded = encodeURIComponent(value);
    if (encoded !== value && out.includes(encoded)) out = out.split(encoded).join('***');
  }
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** A robot webhook URL with its token hidden, for messages and the CLI. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}

// Secret values herald has read (robot tokens, signing secrets, webhook secrets) are
// registered here; maskSecrets() replaces them, and anything that looks like a
// DingTalk access token or signing secret, in every log line, Event, status and error.
const known = new Set<string>();
// All registered values in every form they may take in text, as one alternation: with
// 200 channels (400 values) a loop of `includes` per value cost ~190 µs per log line,
// the regex ~5 µs. Rebuilt on the first use after a new value is registered.
let knownPattern: RegExp | undefined;

/** Remember a secret value so that it is masked wherever it might appear. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 6 || known.has(value)) return;
  known.add(value);
  knownPattern = undefined;
}

/** The value as written, URL-encoded (in a URL) and JSON-escaped (inside a log line). */
function writtenForms(value: string): string[] {
  const encoded = encodeURIComponent(value);
  return [value, encoded, JSON.stringify(value).slice(1, -1), JSON.stringify(encoded).slice(1, -1)];
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function knownValues(): RegExp | undefined {
  if (known.size === 0) return undefined;
  if (!knownPattern) {
    const forms = new Set([...known].flatMap(writtenForms));
    // Longest first: where one value starts another, the whole of the longer one goes.
    const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    knownPattern = new RegExp(alternatives.join('|'), 'g');
  }
  return knownPattern;
}

const patterns: Array<[RegExp, string]> = [
  [/(access_token=)[^&\s"'<>]+/gi, '$1***'],
  [/([?&](?:sign|token|secret)=)[^&\s"'<>]+/gi, '$1***'],
  [/\bSEC[0-9a-f]{20,}\b/g, 'SEC***'],
];

export function maskSecrets(text: string): string {
  const values = knownValues();
  let out = values ? text.replace(values, '***') : text;
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** A robot webhook URL with its token hidden, for messages and the CLI. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}

// `service.webhook.<name>` with a DingTalk robot URL → a DingTalkChannel and the
// Secret that holds the URL. Other services are reported, not converted. The URL
// carries the robot's access token, so by default the Secret gets a placeholder and
// the user a kubectl line to fill it in: manifests are meant to be committed.
import { HERALD_API_VERSION } from '../api/groups.js';
import type { DingTalkChannel, DingTalkChannelSpec } from '../api/generated.js';
import { maskUrl } from '../secrets.js';
import type { Report } from './report.js';
import type { ConversionOutput, ImportOptions, SecretStub } from './resources.js';

const DINGTALK_HOST = 'oapi.dingtalk.com';
const DINGTALK_PATH = '/robot/send';

/**
 * The Secret's url in the written manifests. Not a URL, so that a channel applied
 * before it is filled in is Ready=False at once ("not a URL") and sends nothing.
 */
export const ROBOT_URL_PLACEHOLDER = 'REPLACE_ME';

/** A converted webhook service: the name templates and subscriptions use, and its channel. */
export interface WebhookService {
  name: string;
  channelName: string;
}

function channelNameFor(service: string): string {
  const name = service.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name === '' ? 'dingtalk' : name.slice(0, 240);
}

/** Replaces `$key` references (argocd-notifications-secret) with their values when known. */
function resolveSecretRefs(text: string, secrets: Record<string, string> | undefined): { value: string; unresolved: string[] } {
  const unresolved: string[] = [];
  const value = text.replace(/\$([A-Za-z0-9_.-]+)/g, (whole, name: string) => {
    const found = secrets?.[name];
    if (found === undefined) {
      unresolved.push(name);
      return whole;
    }
    return found;
  });
  return { value, unresolved };
}

/** Converts one `service.*` key; the channel and its Secret go into `output`. */
export function convertService(key: string, text: string, options: ImportOptions, report: Report, output: ConversionOutput): WebhookService | undefined {
  const about = report.about(key);
  const match = /^service\.([^.]+)\.(.+)$/.exec(key);
  if (!match || match[1] !== 'webhook') {
    about.omit('herald sends to DingTalk robots only; this service is not converted');
    return undefined;
  }
  const name = match[2]!;
  const config = about.yaml(text) as Record<string, unknown> | undefined;
  if (config === undefined) return undefined;
  if (!config || typeof config !== 'object' || typeof config.url !== 'string') {
    about.omit('a webhook service needs a url');
    return undefined;
  }
  const { value: url, unresolved } = resolveSecretRefs(config.url, options.secrets);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url.replace(/\$/g, '%24'));
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.hostname !== DINGTALK_HOST || parsed.pathname !== DINGTALK_PATH) {
    about.omit(`${maskUrl(config.url)} is not a DingTalk robot webhook (a URL starting with https://${DINGTALK_HOST}${DINGTALK_PATH}); herald sends to DingTalk robots only`);
    return undefined;
  }
  for (const [field, value] of Object.entries(config)) {
    if (field === 'url') continue;
    if (field === 'headers' && Array.isArray(value)) {
      for (const header of value as Array<{ name?: unknown; value?: unknown }>) {
        const headerName = String(header?.name ?? '');
        if (/^content-type$/i.test(headerName) && /application\/json/i.test(String(header?.value ?? ''))) continue;
        about.omit(`header ${headerName}: herald sends only Content-Type: application/json to DingTalk`);
      }
      continue;
    }
    if (/^retry(WaitMin|WaitMax|Max)$/.test(field)) {
      about.note(`${field}: herald retries by itself (bounded exponential backoff, messages kept in the outbox)`);
      continue;
    }
    about.omit(`${field}: no DingTalkChannel equivalent`);
  }
  const channelName = channelNameFor(name);
  if (channelName !== name) about.note(`the channel is named ${channelName} (Kubernetes names are lower case)`);
  const secretName = `${channelName}-robot`;
  const spec: DingTalkChannelSpec = { webhook: { urlSecretRef: { name: secretName, key: 'url' } } };
  const channel: DingTalkChannel = { apiVersion: HERALD_API_VERSION, kind: 'DingTalkChannel', metadata: { name: channelName, namespace: options.namespace }, spec };
  const secret = (value: string): SecretStub => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: options.namespace }, type: 'Opaque', stringData: { url: value } });
  if (options.includeSecrets) {
    output.resources.push({ kind: 'DingTalkChannel', name: channelName, from: key, objects: [channel] });
    output.secrets.push(secret(url));
    if (unresolved.length > 0) {
      report.nextStep(`Secret ${options.namespace}/${secretName} key url: replace ${unresolved.map((u) => `$${u}`).join(', ')} with the value from argocd-notifications-secret`);
    }
  } else {
    const comment = `Secret ${secretName} holds a placeholder: fill it in with the kubectl line herald import printed (no access token is written to these files).`;
    output.resources.push({ kind: 'DingTalkChannel', name: channelName, from: key, comment, objects: [channel, secret(ROBOT_URL_PLACEHOLDER)] });
    report.nextStep(fillInSecretStep(key, config.url, secretName, options.namespace));
  }
  return { name, channelName };
}

/** How to put the robot's URL into the placeholder Secret, without the token ever being printed. */
function fillInSecretStep(key: string, configUrl: string, secretName: string, namespace: string): string {
  const refs = [...configUrl.matchAll(/\$([A-Za-z0-9_.-]+)/g)].map((m) => m[1]!);
  const token = refs.length > 0 ? `the value of ${refs.join(', ')} in argocd-notifications-secret` : `the access token in the url of ${key}`;
  // The URL as the ConfigMap has it, with the token (or its $reference) left for the user to type.
  const shape = configUrl.replace(/(access_token=)[^&]*/, '$1<token>').replace(/'/g, "'\\''");
  return (
    `Secret ${namespace}/${secretName} holds a placeholder, not the robot's URL: herald import writes no access token unless --include-secrets. ` +
    `After applying the manifests, fill it in, <token> being ${token}:\n` +
    `      kubectl create secret generic ${secretName} -n ${namespace} --from-literal=url='${shape}' --dry-run=client -o yaml | kubectl apply -f -`
  );
}

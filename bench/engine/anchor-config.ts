// The anchor's configuration, as a platform team would write it for Argo CD's
// notification controller (docs/performance.md, "The anchor"): the ConfigMap
// argocd-notifications-cm with Argo CD's catalog triggers verbatim, one webhook
// service `dingtalk` posting to the bench robot, one template per trigger rendering
// the same DingTalk markdown as herald's sample app-sync-change (built as an object
// and serialised with sprig's toJson, so no value can break the JSON), and default
// subscriptions; the Secret argocd-notifications-secret holds each robot's token.
import { stringify } from 'yaml';

/** Argo CD's catalog (notifications_catalog/install.yaml), the four triggers herald's sample channel subscribes. */
export const CATALOG_TRIGGERS: Record<string, string> = {
  'on-deployed': `- description: Application is synced and healthy. Triggered once per commit.
  oncePer: app.status.operationState?.syncResult?.revision
  send:
  - app-deployed
  when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
    and app.status.health.status == 'Healthy' and !time.Parse(app.status.health.lastTransitionTime).Before(time.Parse(app.status.operationState.finishedAt))
`,
  'on-sync-failed': `- description: Application syncing has failed
  oncePer: app.status.operationState?.syncResult?.revision
  send:
  - app-sync-failed
  when: app.status.operationState != nil and app.status.operationState.phase in ['Error',
    'Failed']
`,
  'on-sync-running': `- description: Application is being synced
  oncePer: app.status.operationState?.syncResult?.revision
  send:
  - app-sync-running
  when: app.status.operationState != nil and app.status.operationState.phase in ['Running']
`,
  'on-sync-succeeded': `- description: Application syncing has succeeded
  oncePer: app.status.operationState?.syncResult?.revision
  send:
  - app-sync-succeeded
  when: app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']
`,
};

/** Template per catalog trigger, with the headline herald's sample shows for that trigger. */
const TEMPLATES: Record<string, string> = {
  'app-deployed': '🚀 已部署 (同步成功且健康)',
  'app-sync-failed': '❌ 同步失败',
  'app-sync-running': '🔄 正在同步',
  'app-sync-succeeded': '✅ 同步成功',
};

export const ANCHOR_TRIGGERS = Object.keys(CATALOG_TRIGGERS);

/** Herald's sample message (config/samples/notificationtemplate-app-sync-change.yaml) in Go template + sprig. */
export function dingtalkBody(headline: string): string {
  return [
    '{{- $app := .app -}}',
    '{{- $op := $app.status.operationState -}}',
    '{{- $name := $app.metadata.name -}}{{- $ns := $app.metadata.namespace -}}',
    '{{- $phase := default "-" $op.phase -}}',
    '{{- $health := default "-" $app.status.health.status -}}',
    '{{- $rev := coalesce (dig "syncResult" "revision" "" $op) (dig "operation" "sync" "revision" "" $op) (dig "sync" "revision" "" $app.status) -}}',
    '{{- $lines := list (printf "### ArgoCD同步状态: %s" $name) (printf "**%s**" "HEADLINE") "" -}}',
    '{{- $lines = append $lines (printf "- 应用 (Application): %s/%s" $ns $name) -}}',
    '{{- $lines = append $lines (printf "- 同步阶段 (Phase): %s" $phase) -}}',
    '{{- $lines = append $lines (printf "- 同步状态 (Sync): %s" (default "-" $app.status.sync.status)) -}}',
    '{{- $lines = append $lines (printf "- 健康状态 (Health): %s" $health) -}}',
    '{{- if $op.startedAt }}{{ $lines = append $lines (printf "- 开始时间 (Started): %s (北京时间)" (dateInZone "2006-01-02 15:04:05" (call .time.Parse $op.startedAt) "Asia/Shanghai")) }}{{ end -}}',
    '{{- if $op.finishedAt }}{{ $lines = append $lines (printf "- 耗时 (Duration): %s" ((call .time.Parse $op.finishedAt).Sub (call .time.Parse $op.startedAt))) }}{{ end -}}',
    '{{- $lines = append $lines (printf "- 版本 (Revision): %s" (default "-" (trunc 12 $rev))) -}}',
    '{{- $lines = append $lines (printf "- 发起人 (Initiator): %s" (default "自动同步 (automated)" (dig "operation" "initiatedBy" "username" "" $op))) -}}',
    '{{- with $app.spec.source }}{{ if .repoURL }}{{ $lines = append $lines (printf "- 仓库 (Repository): %s" (trimSuffix ".git" (call $.repo.RepoURLToHTTPS .repoURL))) }}{{ end }}{{ end -}}',
    '{{- if and (has $op.phase (list "Error" "Failed")) $op.message }}{{ $lines = append $lines "" }}{{ $lines = append $lines (printf "> %s" (trunc 300 $op.message)) }}{{ end -}}',
    '{{- if and (eq $health "Degraded") $app.status.health.message }}{{ $lines = append $lines "" }}{{ $lines = append $lines (printf "> %s" (trunc 300 $app.status.health.message)) }}{{ end -}}',
    '{{- $lines = append $lines "" -}}',
    '{{- $lines = append $lines (printf "[在 ArgoCD 中查看 (Open in Argo CD)](%s/applications/%s/%s)" .context.argocdUrl $ns $name) -}}',
    '{{- $lines = append $lines "" -}}',
    '{{- dict "msgtype" "markdown" "markdown" (dict "title" (printf "ArgoCD同步状态: %s %s/%s" $name $phase $health) "text" (join "\\n" $lines)) | toJson -}}',
  ].join('\n').replace('HEADLINE', headline);
}

export interface AnchorConfigOptions {
  namespace: string;
  /** The robot's base URL up to /robot (the template adds send?access_token=…). */
  robotUrl: string;
  /** Channel name → robot access token. One channel: every app; several: by label herald.bench/channel. */
  channels: Record<string, string>;
  argocdUrl: string;
}

export const CHANNEL_LABEL = 'herald.bench/channel';

export function anchorConfigMap(options: AnchorConfigOptions): Record<string, unknown> {
  const channels = Object.keys(options.channels);
  const data: Record<string, string> = {
    context: stringify({ argocdUrl: options.argocdUrl }),
    'service.webhook.dingtalk': stringify({ url: options.robotUrl, headers: [{ name: 'Content-Type', value: 'application/json' }] }),
    subscriptions: stringify(
      channels.map((channel) => ({
        recipients: [`dingtalk:${channel}`],
        triggers: ANCHOR_TRIGGERS,
        ...(channels.length > 1 ? { selector: `${CHANNEL_LABEL}=${channel}` } : {}),
      })),
    ),
  };
  for (const [trigger, text] of Object.entries(CATALOG_TRIGGERS)) data[`trigger.${trigger}`] = text;
  for (const [template, headline] of Object.entries(TEMPLATES)) {
    data[`template.${template}`] = stringify({
      webhook: {
        dingtalk: {
          method: 'POST',
          // The recipient is the channel; its robot's token comes from the Secret.
          path: '/send?access_token={{ index .secrets (printf "token-%s" .recipient) | toString }}',
          body: dingtalkBody(headline),
        },
      },
    });
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-notifications-cm', namespace: options.namespace }, data };
}

export function anchorSecret(options: AnchorConfigOptions): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'argocd-notifications-secret', namespace: options.namespace },
    stringData: Object.fromEntries(Object.entries(options.channels).map(([channel, token]) => [`token-${channel}`, token])),
  };
}

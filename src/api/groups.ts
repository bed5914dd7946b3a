// API groups, versions and names herald reads and writes.
export const HERALD_GROUP = 'herald.gitops.dev';
export const HERALD_VERSION = 'v1alpha1';
export const HERALD_API_VERSION = `${HERALD_GROUP}/${HERALD_VERSION}`;

export const ARGO_GROUP = 'argoproj.io';
export const ARGO_VERSION = 'v1alpha1';
export const APPLICATIONS = 'applications';

export const KINDS = {
  NotificationTrigger: { kind: 'NotificationTrigger', plural: 'notificationtriggers', shortName: 'ntrigger' },
  NotificationTemplate: { kind: 'NotificationTemplate', plural: 'notificationtemplates', shortName: 'ntemplate' },
  DingTalkChannel: { kind: 'DingTalkChannel', plural: 'dingtalkchannels', shortName: 'dingtalk' },
} as const;
export type HeraldKind = keyof typeof KINDS;

export const ANNOTATIONS = {
  subscribePrefix: `${HERALD_GROUP}/subscribe.`,
  outbox: `${HERALD_GROUP}/outbox`,
  notified: `${HERALD_GROUP}/notified`,
  argoRefresh: 'argocd.argoproj.io/refresh',
  manifestGeneratePaths: 'argocd.argoproj.io/manifest-generate-paths',
} as const;

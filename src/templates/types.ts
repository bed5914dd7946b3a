// The result of rendering a NotificationTemplate: plain data, no channel format yet.
// Channels turn it into their own request body (objects, serialised once).

export interface RenderedButton {
  title: string;
  actionURL: string;
}

export interface RenderedLink {
  title: string;
  messageURL: string;
  picURL?: string;
}

export interface RenderedDingTalk {
  msgType: 'markdown' | 'text' | 'link' | 'actionCard' | 'feedCard';
  title?: string;
  text?: string;
  messageURL?: string;
  picURL?: string;
  singleTitle?: string;
  singleURL?: string;
  btnOrientation?: '0' | '1';
  btns?: RenderedButton[];
  links?: RenderedLink[];
  at?: { mobiles?: string[]; userIds?: string[]; all?: boolean; initiator?: boolean };
}

export interface RenderedNotification {
  /** Plain-text fallback (spec.message), if the template has one. */
  message?: string;
  /** The DingTalk message (spec.dingtalk), if the template has one. */
  dingtalk?: RenderedDingTalk;
}

/** What a template sees. */
export interface TemplateContext {
  app: Record<string, unknown>;
  context: Record<string, string>;
  trigger: string;
  channel: { name: string; type: string };
  notificationType: string;
  /** User who started the sync (operationState.operation.initiatedBy.username), if any. */
  initiator?: string;
}

// The result of rendering a NotificationTemplate: plain data, no channel format yet.
// Channels turn it into their own request body (objects, serialised once).
import type { NotificationTemplateSpec } from '../api/generated.js';

// The rendered DingTalk message has exactly the shape of spec.dingtalk (every string
// rendered), with msgType resolved; derived from the CRD so the two cannot drift.
type DingTalkSpec = NonNullable<NotificationTemplateSpec['dingtalk']>;

export type RenderedButton = NonNullable<DingTalkSpec['btns']>[number];

export type RenderedLink = NonNullable<DingTalkSpec['links']>[number];

export type RenderedDingTalk = Omit<DingTalkSpec, 'msgType'> & { msgType: NonNullable<DingTalkSpec['msgType']> };

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

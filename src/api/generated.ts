// Generated from crds/*.yaml by `make generate` (src/api/codegen.ts). Do not edit.
import type { V1ObjectMeta } from '@kubernetes/client-node';

/** DingTalkChannel is a DingTalk group robot that herald sends to. Its webhook URL (which carries the access token) and its signing secret are read from Secrets in the channel's own namespace and never appear in logs, events, status or metrics. */
export interface DingTalkChannel {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: DingTalkChannelSpec;
  status?: DingTalkChannelStatus;
}

export type DingTalkChannelSpec = {
  /** A custom group robot, reached through its webhook URL. */
  webhook?: {
    /** Secret key holding the robot's full webhook URL, https://oapi.dingtalk.com/robot/send?access_token=…. */
    urlSecretRef: {
      /** Secret name, in the channel's namespace. */
      name: string;
      /** Key within the Secret's data. */
      key: string;
    };
    /** Secret key holding the robot's signing secret (starts with SEC). When set, every request carries `timestamp` and `sign` = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)). */
    signSecretRef?: {
      /** Secret name, in the channel's namespace. */
      name: string;
      /** Key within the Secret's data. */
      key: string;
    };
  };
  /** Reserved for the enterprise internal app robot (app key and secret, robotCode, openConversationId). Not implemented yet: a channel that sets it is Ready=False with reason Unsupported. */
  app?: Record<string, unknown>;
  /** The robot's custom keywords. DingTalk drops a message that contains none of them, so herald refuses such a message before sending, with an Event that says so. */
  keywords?: Array<string>;
  /** Sending rate. DingTalk allows 20 messages a minute per robot and mutes a robot that exceeds it for 10 minutes; messages over the limit wait, and when several wait they are merged into one digest message. */
  rateLimit?: {
    /** Messages per rolling minute (default 20). */
    perMinute?: number;
  };
  /** Which Applications' trigger events go to this channel, in addition to the `herald.gitops.dev/subscribe.<trigger>` annotations on Applications. */
  subscriptions?: Array<{
    /** Trigger names. */
    triggers: Array<string>;
    /** Label selector on Applications; empty or absent selects all. */
    selector?: {
      /** Labels an Application must carry with exactly these values. */
      matchLabels?: Record<string, string>;
      /** Label requirements (In, NotIn, Exists, DoesNotExist). */
      matchExpressions?: Array<{
        /** Label key. */
        key: string;
        /** In, NotIn, Exists or DoesNotExist. */
        operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
        /** Values for In and NotIn. */
        values?: Array<string>;
      }>;
    };
    /** Application namespaces this subscription covers. Only meaningful for a channel in the control namespace; a channel elsewhere only ever sees Applications of its own namespace. */
    namespaces?: Array<string>;
  }>;
  /** Map from an Argo CD user name (as in operation.initiatedBy.username) to the DingTalk account to mention when a template sets `at.initiator: true`. */
  mentions?: Record<string, {
    /** Mobile number registered in DingTalk. */
    mobile?: string;
    /** DingTalk user ID. */
    userId?: string;
  }>;
};

export type DingTalkChannelStatus = {
  /** The metadata.generation this status describes. */
  observedGeneration?: number;
  /** When DingTalk last accepted a message from this channel (written within 2 s after a quiet spell, at most 30 s late while the channel keeps sending). */
  lastSentTime?: string;
  /** The last delivery error (secrets masked), cleared by the next success. */
  lastError?: string;
  /** DingTalk's rolling minute as herald last stored it, so that a restart or a new leader goes on from where the last one stopped instead of sending a full burst again. Written by the leader at most every few seconds while it sends, before a burst (a claim), when DingTalk mutes the robot, and on graceful shutdown. */
  sendWindow?: {
    /** Requests made in the last minute, grouped per second. */
    sends?: Array<{
      /** The start of that second. */
      at: string;
      /** Requests answered in that second. */
      count: number;
    }>;
    /** Requests the leader may make, before `until`, without writing this record again. A new process counts them as made. */
    claim?: {
      /** Requests claimed. */
      slots: number;
      /** When the claim ends. */
      until: string;
    };
    /** DingTalk answered 130101 (too many messages): nothing is sent to the robot before this time (--dingtalk-mute-seconds after the answer); waiting messages are kept. */
    mutedUntil?: string;
    /** When DingTalk last accepted a message, as far as this record knows. */
    lastSentTime?: string;
    /** True when written by a leader that had stopped sending (graceful shutdown): nothing is missing. Otherwise a new process assumes a few more requests than recorded. */
    complete?: boolean;
    /** When the record was written. */
    updatedTime?: string;
  };
  /** Standard conditions. `Ready` says whether the Secrets exist and are well formed and DingTalk accepts the robot; `RateLimited` is True (reason Muted, the end time in the message) while DingTalk has muted the robot after errcode 130101, False (reason Accepting) otherwise. */
  conditions?: Array<{
    /** Type of condition, for example Ready. */
    type: string;
    /** True, False or Unknown. */
    status: "True" | "False" | "Unknown";
    /** The metadata.generation the condition was set for. */
    observedGeneration?: number;
    /** When the condition last changed status. */
    lastTransitionTime: string;
    /** Machine-readable CamelCase reason for the last transition. */
    reason: string;
    /** Human-readable details, such as which Secret or key is missing. */
    message: string;
  }>;
};

/** NotificationTemplate is a message, written with nunjucks templates. The context holds `app` (the Application), `context` (operator-wide values such as argocdUrl), `trigger` (the trigger name), `channel` (name and type), `notificationType` and `initiator` (who started the sync). herald builds each message as an object and serialises it once, so a quote or newline in a value can never break it. */
export interface NotificationTemplate {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: NotificationTemplateSpec;
  status?: NotificationTemplateStatus;
}

export type NotificationTemplateSpec = {
  /** Plain-text fallback for any channel (nunjucks). DingTalk uses it as the text of a `text` message when spec.dingtalk is absent. */
  message?: string;
  /** The DingTalk robot message. Every string field is a nunjucks template. */
  dingtalk?: {
    /** DingTalk message type. */
    msgType?: "markdown" | "text" | "link" | "actionCard" | "feedCard";
    /** Title (markdown, link, actionCard); shown in the conversation list. */
    title?: string;
    /** Body text; markdown for markdown and actionCard messages. */
    text?: string;
    /** Where a link message leads. */
    messageURL?: string;
    /** Picture of a link message. */
    picURL?: string;
    /** Title of the single button of an actionCard. */
    singleTitle?: string;
    /** Where the single button of an actionCard leads. */
    singleURL?: string;
    /** Buttons of an actionCard stacked vertically ("0") or side by side ("1"). */
    btnOrientation?: "0" | "1";
    /** Buttons of an actionCard (instead of singleTitle/singleURL). */
    btns?: Array<{
      /** Button label. */
      title: string;
      /** Where the button leads. */
      actionURL: string;
    }>;
    /** Entries of a feedCard. */
    links?: Array<{
      /** Entry title. */
      title: string;
      /** Where the entry leads. */
      messageURL: string;
      /** Entry picture. */
      picURL?: string;
    }>;
    /** Whom to mention. DingTalk shows mentions for text, markdown and actionCard messages. */
    at?: {
      /** Mobile numbers to mention (nunjucks allowed). */
      mobiles?: Array<string>;
      /** DingTalk user IDs to mention (nunjucks allowed). */
      userIds?: Array<string>;
      /** Mention everyone in the group. */
      all?: boolean;
      /** Mention the person who started the sync (app.status.operationState.operation.initiatedBy.username), looked up in the channel's spec.mentions. */
      initiator?: boolean;
    };
  };
};

export type NotificationTemplateStatus = {
  /** The metadata.generation this status describes. */
  observedGeneration?: number;
  /** The last render of this template that went over a budget (time, memory or output size) and was stopped: that message failed, nothing else did. Kept until the template changes (a new metadata.generation). */
  lastBudgetFailure?: {
    /** Which budget: RenderTimeLimit (--template-render-timeout), RenderMemoryLimit (--template-render-memory) or RenderOutputLimit (--template-max-output-bytes). */
    reason: "RenderTimeLimit" | "RenderMemoryLimit" | "RenderOutputLimit";
    /** What was stopped and the limit, with the field where the output limit was passed. */
    message: string;
    /** The Application the message was for, as namespace/name. */
    application?: string;
    /** The trigger that sent the message. */
    trigger?: string;
    /** The channel the message was for, as namespace/name. */
    channel?: string;
    /** When the render was stopped. */
    time: string;
    /** The metadata.generation of the template that was rendered. */
    generation?: number;
  };
  /** Standard conditions; `Ready` says whether every field compiles as a nunjucks template. */
  conditions?: Array<{
    /** Type of condition, for example Ready. */
    type: string;
    /** True, False or Unknown. */
    status: "True" | "False" | "Unknown";
    /** The metadata.generation the condition was set for. */
    observedGeneration?: number;
    /** When the condition last changed status. */
    lastTransitionTime: string;
    /** Machine-readable CamelCase reason for the last transition. */
    reason: string;
    /** Human-readable details, such as the field and line of a template error. */
    message: string;
  }>;
};

/** NotificationTrigger decides when an Argo CD Application is worth a message. Each condition is a CEL expression over the Application (`app`); when it becomes true herald renders the named NotificationTemplates and sends them to every channel subscribed to this trigger. A trigger in herald's control namespace applies to all watched Applications; one in any other namespace applies only to Applications in that namespace and shadows a same-named trigger of the control namespace. */
export interface NotificationTrigger {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec: NotificationTriggerSpec;
  status?: NotificationTriggerStatus;
}

export type NotificationTriggerSpec = {
  /** Free text shown by `kubectl describe`; what the trigger is for. */
  description?: string;
  /** What this trigger does with the state an Application is in when herald first evaluates the trigger for it and a channel (a fresh install, a new trigger, a new subscription or channel). `Record` (the default, unless the controller runs with --on-first-sight=send) writes what holds into the send ledger without sending it, so only later changes are reported; a change that happened within --first-sight-window before herald first saw it is still sent. `Send` reports the current state as well. Overrides --on-first-sight for this trigger. */
  onFirstSight?: "Record" | "Send";
  /** The conditions of this trigger, evaluated independently: each one that holds sends its templates. A condition is identified by its `name` (required and unique when there is more than one), so the send ledger survives edits of `when`, reordering and template renames. */
  conditions: Array<{
    /** The condition's identity in the send ledger (herald.gitops.dev/notified): a DNS label such as `succeeded`. Required and unique when the trigger has more than one condition; a lone condition without a name is `default`. Editing `when`, reordering conditions or renaming templates keeps the name and so re-sends nothing; renaming a condition makes it a new one. */
    name?: string;
    /** Free text describing this condition. */
    description?: string;
    /** CEL expression over `app` (the Application as a map) and `now()` that must evaluate to a bool, for example `app.status.operationState.phase in ['Succeeded'] && app.status.health.status == 'Healthy'`. A field missing from the Application makes the condition false rather than an error. Without `oncePer` the condition sends once while it stays true and may send again after it has turned false. */
    when: string;
    /** Names of NotificationTemplates to render and send when the condition holds. */
    send: Array<string>;
    /** Optional CEL expression whose value identifies one occurrence, typically `app.status.operationState.syncResult.revision`. The condition then sends once per distinct value and never again for that value, even if it turns false and true again. */
    oncePer?: string;
  }>;
};

export type NotificationTriggerStatus = {
  /** The metadata.generation this status describes. */
  observedGeneration?: number;
  /** Number of conditions in spec (for the printer column). */
  conditionCount?: number;
  /** Comma-separated template names the trigger sends (for the printer column). */
  templates?: string;
  /** The last error met while evaluating a condition against an Application (other than a missing field), with the Application and condition index. */
  lastEvaluationError?: string;
  /** Standard conditions; `Ready` says whether every expression compiles and type-checks. */
  conditions?: Array<{
    /** Type of condition, for example Ready. */
    type: string;
    /** True, False or Unknown. */
    status: "True" | "False" | "Unknown";
    /** The metadata.generation the condition was set for. */
    observedGeneration?: number;
    /** When the condition last changed status. */
    lastTransitionTime: string;
    /** Machine-readable CamelCase reason for the last transition. */
    reason: string;
    /** Human-readable details, such as the condition index and column of a CEL error. */
    message: string;
  }>;
};

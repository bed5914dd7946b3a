// The DingTalk channel: from a DingTalkChannel's spec and the Secrets it refers to
// (read from its own namespace) to a ready robot, or the problem for its status.
import type { DingTalkChannelSpec } from '../../api/generated.js';
import { Reasons } from '../../api/reasons.js';
import { ConfigurationError, errorMessage } from '../../errors.js';
import { registerSecret } from '../../secrets.js';
import type { ChannelProblem, ChannelRequest, ChannelResolution } from '../channel.js';
import { ChannelReasons } from '../errors.js';
import { DingTalkRobot } from './robot.js';

export { DINGTALK_THROTTLE_MS, classifyAnswer, classifyNetworkFailure, type ClassifiedAnswer, type DingTalkAnswer } from './answer.js';
export { buildDingTalkBody, mergeAt, type DingTalkAt, type DingTalkBody, type DingTalkMention } from './body.js';
export { buildDigestBody, digestItemOf, type DigestItem } from './digest.js';
export { missingKeyword, visibleText } from './keywords.js';
export { dingTalkSignature, signedUrl } from './sign.js';
export { DINGTALK_MAX_BODY_BYTES, fitToSize } from './size.js';
export { DingTalkRobot, displayUrl, prepareBody, prepareDigest, prepareMessage, type DingTalkRobotOptions, type PreparedMessage } from './robot.js';

const located = (reason: string, field: string | undefined, message: string): { ok: false; problem: ChannelProblem } => ({
  ok: false,
  problem: { reason, message: field ? `${field}: ${message}` : message, ...(field ? { field } : {}) },
});

/**
 * The robot of a DingTalkChannel: reads spec.webhook's Secrets (only in the channel's
 * namespace) and builds the sender. Every problem names the field it is about and never
 * quotes a Secret value.
 */
export async function dingTalkChannel(request: ChannelRequest): Promise<ChannelResolution<DingTalkRobot>> {
  const spec = request.spec as DingTalkChannelSpec;
  const { namespace } = request;
  if (spec.app !== undefined) {
    return located(ChannelReasons.Unsupported, undefined, 'spec.app (enterprise internal app robot) is reserved and not implemented yet; use spec.webhook');
  }
  const webhook = spec.webhook;
  if (!webhook) return located(Reasons.InvalidSecret, undefined, 'spec.webhook is required');

  const read = async (field: string, ref: { name: string; key: string }): Promise<string | { ok: false; problem: ChannelProblem }> => {
    const data = await request.readSecret(ref.name);
    if (!data) return located(Reasons.SecretNotFound, field, `Secret ${namespace}/${ref.name} not found`);
    const value = data[ref.key]?.trim();
    registerSecret(value);
    if (value === undefined || value === '') {
      return located(Reasons.InvalidSecret, field, `Secret ${namespace}/${ref.name} has no (or an empty) key "${ref.key}"`);
    }
    return value;
  };
  const webhookUrl = await read('spec.webhook.urlSecretRef', webhook.urlSecretRef);
  if (typeof webhookUrl !== 'string') return webhookUrl;
  let signSecret: string | undefined;
  if (webhook.signSecretRef) {
    const value = await read('spec.webhook.signSecretRef', webhook.signSecretRef);
    if (typeof value !== 'string') return value;
    signSecret = value;
  }
  try {
    const channel = new DingTalkRobot({ webhookUrl, signSecret, keywords: spec.keywords, mentions: spec.mentions, ...request.options });
    return { ok: true, channel };
  } catch (error) {
    // The robot's own reason (InvalidWebhookURL…) is more precise than a generic one.
    const reason = error instanceof ConfigurationError ? error.reason : Reasons.InvalidSecret;
    return located(reason, reason === ChannelReasons.HostNotAllowed ? 'spec.webhook.urlSecretRef' : undefined, errorMessage(error));
  }
}

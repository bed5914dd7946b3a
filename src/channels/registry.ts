// Channel implementations by type. A new channel is one file plus one line here.
import type { AxiosInstance } from 'axios';
import type { DingTalkChannelSpec } from '../api/generated.js';
import type { Channel } from './channel.js';
import { dingTalkRobotFromSpec } from './dingtalk.js';
import { ChannelConfigurationError, ChannelReasons } from './errors.js';

/** What the reconciler hands a factory: the channel resource's spec and its Secret values. */
export interface ChannelConfig {
  /** The resource's spec, as stored (the factory knows its shape). */
  spec: unknown;
  /**
   * Secret values the spec refers to, already read from the channel's namespace.
   * DingTalk: `webhookUrl` (spec.webhook.urlSecretRef), `signSecret` (spec.webhook.signSecretRef).
   */
  secrets: Readonly<Record<string, string | undefined>>;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Wait after the channel said "too fast" (DingTalk 130101). */
  throttledRetryMs?: number;
  /** HTTP client to use (tests, proxies). */
  http?: AxiosInstance;
}

export type ChannelFactory = (config: ChannelConfig) => Channel;

const factories = new Map<string, ChannelFactory>([
  [
    'dingtalk',
    (config) =>
      dingTalkRobotFromSpec(config.spec as DingTalkChannelSpec, config.secrets, {
        timeoutMs: config.timeoutMs,
        throttledRetryMs: config.throttledRetryMs,
        http: config.http,
      }),
  ],
]);

/** Channel types herald can send to. */
export function channelTypes(): string[] {
  return [...factories.keys()];
}

/**
 * A channel of `type` for a resource. Throws ChannelConfigurationError for an unknown
 * type or a configuration the implementation refuses (reason on the error).
 */
export function createChannel(type: string, config: ChannelConfig): Channel {
  const factory = factories.get(type);
  if (!factory) {
    throw new ChannelConfigurationError(
      ChannelReasons.Unsupported,
      `channel type "${type}" is not supported (known: ${channelTypes().join(', ')})`,
    );
  }
  return factory(config);
}

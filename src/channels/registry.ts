// Channel implementations by type. A new channel is one folder (or file) plus one line here.
import type { ChannelRequest, ChannelResolution } from './channel.js';
import { dingTalkChannel } from './dingtalk/index.js';
import { ChannelReasons } from './errors.js';

/**
 * Turns a channel resource into a ready channel, reading the Secrets its spec refers
 * to through `request.readSecret`; a configuration problem is returned, not thrown.
 */
export type ChannelFactory = (request: ChannelRequest) => Promise<ChannelResolution>;

const factories = new Map<string, ChannelFactory>([['dingtalk', dingTalkChannel]]);

/** Channel types herald can send to. */
export function channelTypes(): string[] {
  return [...factories.keys()];
}

/** The channel of `type` for a resource, or the problem to show on its status. */
export async function resolveChannel(type: string, request: ChannelRequest): Promise<ChannelResolution> {
  const factory = factories.get(type);
  if (!factory) {
    return {
      ok: false,
      problem: { reason: ChannelReasons.Unsupported, message: `channel type "${type}" is not supported (known: ${channelTypes().join(', ')})` },
    };
  }
  return factory(request);
}

// Request signing for robots whose security setting is "加签" (signature) (pure).
import { createHmac } from 'node:crypto';

/** The DingTalk signature of a timestamp: base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)). */
export function dingTalkSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * The webhook URL with `timestamp` and `sign` query parameters (URL-encoded by
 * URLSearchParams: + / = become %2B %2F %3D). Without a secret, the URL unchanged.
 */
export function signedUrl(webhookUrl: string, signSecret: string | undefined, nowMs: number): string {
  if (!signSecret) return webhookUrl;
  const url = new URL(webhookUrl);
  const timestamp = Math.trunc(nowMs);
  url.searchParams.set('timestamp', String(timestamp));
  url.searchParams.set('sign', dingTalkSignature(signSecret, timestamp));
  return url.toString();
}

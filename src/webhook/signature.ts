// Signature and token checks. Every comparison is constant-time over equal-length
// buffers, so response timing tells an attacker nothing about how close a guess was.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookCredential, WebhookRequest } from './types.js';

/** The first value of a header (Node lower-cases names), or undefined. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : String(first);
}

export function hmacSha256(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** The signature header value a provider would send for this body: hex, optionally with a prefix such as `sha256=`. */
export function signBody(secret: string, body: Buffer | string, prefix = ''): string {
  return prefix + hmacSha256(secret, Buffer.isBuffer(body) ? body : Buffer.from(body)).toString('hex');
}

/**
 * Checks a hex HMAC-SHA256 signature of the body. `prefix` (e.g. `sha256=`) must be
 * present when given. Anything that is not exactly 64 hex digits fails.
 */
export function verifyHexHmac(signature: string | undefined, secret: string, body: Buffer, prefix = ''): boolean {
  return hexSignatureMatches(signature, hmacSha256(secret, body), prefix);
}

/** Checks a hex signature header (after `prefix`) against an HMAC-SHA256 already computed. */
export function hexSignatureMatches(signature: string | undefined, digest: Buffer, prefix = ''): boolean {
  if (signature === undefined) return false;
  const text = signature.trim();
  if (prefix !== '' && text.slice(0, prefix.length).toLowerCase() !== prefix) return false;
  const hex = text.slice(prefix.length);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  return timingSafeEqual(Buffer.from(hex, 'hex'), digest);
}

/** Whether the request carries the header its provider's credential travels in. */
export function hasCredential(credential: WebhookCredential, headers: IncomingHttpHeaders): boolean {
  const value = header(headers, credential.header);
  return value !== undefined && value.trim() !== '';
}

/**
 * Checks a request's token or signature against `secret`, in constant time. A token
 * needs only the headers; a signature uses `request.bodyHmac` when the receiver
 * computed it while reading (with this same secret).
 */
export function verifyCredential(credential: WebhookCredential, request: WebhookRequest, secret: string): boolean {
  const given = header(request.headers, credential.header);
  if (given === undefined) return false;
  if (credential.kind === 'token') return credential.matches(given, secret);
  return hexSignatureMatches(given, request.bodyHmac ?? hmacSha256(secret, request.body), credential.prefix);
}

/** Compares two tokens in constant time, whatever their lengths (both are hashed first). */
export function tokensEqual(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

// A local DingTalk custom robot: the one stand-in allowed in tests (and `make demo`).
// It speaks the robot protocol as DingTalk does (POST /robot/send?access_token=…,
// HTTP 200 with errcode/errmsg, signature and timestamp window, keywords, 20 messages
// per rolling minute, body checks per msgtype), records every request it receives
// and de-duplicates nothing. Written independently of src/channels so that each
// checks the other. docs/reference/dingtalk.md lists the answers and their sources.
//
// Standalone: node build/test/support/dingtalk-robot.js --port 18080 --token T [--secret S] [--keyword K]…
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface RobotConfig {
  token: string;
  /** Signing secret ("加签"): requests need timestamp + sign. */
  secret?: string;
  /** Custom keywords: a message must contain one. */
  keywords?: string[];
}

/**
 * How the robot behaves for a token: 'ok' follows the protocol; 'http500' answers
 * HTTP 500; 'hang' answers nothing until the mode changes (then handles the request
 * in the new mode) or 30 s pass (then closes the socket); 'down' closes the socket;
 * 'errcode:<n>' answers HTTP 200 with that errcode; 'redirect:<url>' answers 302 to that
 * URL (DingTalk never does; a misbehaving or hostile endpoint would).
 */
export type RobotMode = 'ok' | 'http500' | 'hang' | 'down' | `errcode:${number}` | `redirect:${string}`;

export type RobotAnswer =
  | { kind: 'answered'; status: number; errcode?: number; errmsg?: string; body: string }
  | { kind: 'closed'; why: 'down' | 'hang-timeout' | 'server-closed' };

export interface ReceivedRequest {
  /** 1, 2, … in arrival order. */
  seq: number;
  /** Arrival time, ms since the epoch. */
  time: number;
  /** The sender's address (test/e2e checks that messages come from the pod network). */
  remoteAddress: string;
  method: string;
  path: string;
  query: Record<string, string>;
  token: string | undefined;
  headers: IncomingHttpHeaders;
  /** The body exactly as received (UTF-8). */
  rawBody: string;
  /** The parsed body, or undefined when it was not valid JSON. */
  json: unknown;
  /** What the robot did; undefined while the request hangs. */
  answer: RobotAnswer | undefined;
  /** True when the robot accepted the message (errcode 0 in 'ok' mode). */
  accepted: boolean;
}

export interface DingTalkRobotServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  robots: RobotConfig[];
  /** Accepted messages per robot in any rolling 60 s (default 20). */
  perMinute?: number;
  /** Allowed distance between `timestamp` and the robot's clock (default 1 hour). */
  signatureWindowMs?: number;
  /** After the limit is exceeded, refuse everything for this long (DingTalk: 10 minutes; default 0 = rolling window only). */
  muteMs?: number;
  /** How long 'hang' holds a request before closing the socket (default 30 s). */
  hangMs?: number;
  /** Called for each request once it has been answered (the CLI prints it). */
  onRequest?: (request: ReceivedRequest) => void;
  /** The robot's clock (default Date.now). */
  now?: () => number;
  /** Refuse bodies larger than this with DingTalk's 460101 (default 20000, DingTalk's limit). */
  maxBodyBytes?: number;
}

export interface DingTalkRobotServer {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  /** The webhook URL of a robot: {url}/robot/send?access_token=token */
  webhookUrl(token: string): string;
  /** Every request received, in order (cleared by clear()). */
  readonly requests: ReceivedRequest[];
  /** Accepted requests, for one token or all. */
  accepted(token?: string): ReceivedRequest[];
  /** Change how a token (or '*' for every token) is answered. */
  setMode(token: string, mode: RobotMode): void;
  /** Add a robot or replace the one with the same token (rotate a secret, change keywords). */
  addRobot(robot: RobotConfig): void;
  /** Remove a robot: its token then answers 300001. */
  removeRobot(token: string): void;
  /** Refuse bodies larger than this many bytes from now on (460101, as DingTalk answers an oversized message). */
  setMaxBodyBytes(bytes: number): void;
  /**
   * Mute a robot as DingTalk does after too many messages: every message it would
   * otherwise accept is answered 130101 for `ms` from now (0 unmutes it).
   */
  mute(token: string, ms: number): void;
  /** When a muted robot takes messages again (ms since the epoch); undefined when it is not muted. */
  unmutesAt(token: string): number | undefined;
  /** Forget recorded requests and rate-limit history; modes and robots stay. */
  clear(): void;
  /** Wait until `count` messages were accepted (for `token`, or in all); throws with what arrived otherwise. */
  waitForAccepted(count: number, options?: { token?: string; timeoutMs?: number }): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

// DingTalk's answers (errmsg texts as DingTalk's robot endpoint has returned them).
export const ROBOT_ERRORS = {
  ok: { errcode: 0, errmsg: 'ok' },
  tokenNotExist: { errcode: 300001, errmsg: 'token is not exist' },
  invalidTimestamp: { errcode: 310000, errmsg: 'invalid timestamp' },
  signNotMatch: { errcode: 310000, errmsg: 'sign not match' },
  keywordsNotInContent: { errcode: 310000, errmsg: 'keywords not in content' },
  sendTooFast: { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' },
  missingJson: { errcode: 40035, errmsg: '缺少参数 json' },
  invalidContentType: { errcode: 43004, errmsg: '无效的HTTP HEADER Content-Type' },
  tooLong: { errcode: 460101, errmsg: 'message too long, exceed 20000 bytes' },
  markdownTitle: { errcode: 400402, errmsg: 'miss param : markdown->title' },
  markdownText: { errcode: 400403, errmsg: 'miss param : markdown->text' },
} as const;

/** Local choice for body errors DingTalk's texts are not known for (herald treats any as MessageRejected). */
const PARAM_ERROR = 400400;

const MAX_BODY_BYTES = 20_000;
const READ_LIMIT_BYTES = 1024 * 1024;

function errmsgFor(errcode: number): string {
  const known = Object.values(ROBOT_ERRORS).find((e) => e.errcode === errcode);
  return known?.errmsg ?? `error ${errcode}`;
}

/** The expected `sign` for a timestamp, computed here independently of src/channels. */
export function robotSignature(secret: string, timestamp: string): string {
  const hmac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  hmac.update(Buffer.from(`${timestamp}\n${secret}`, 'utf8'));
  return hmac.digest('base64');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const nonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

type Check = { errcode: number; errmsg: string } | undefined;
const missing = (path: string): Check => ({ errcode: PARAM_ERROR, errmsg: `miss param : ${path}` });

/** The body checks DingTalk applies per msgtype. */
function checkShape(body: Record<string, unknown>): Check {
  const type = body.msgtype;
  if (!nonEmptyString(type)) return missing('msgtype');
  const section = body[type];
  switch (type) {
    case 'text':
      if (!isObject(section) || !nonEmptyString(section.content)) return missing('text->content');
      break;
    case 'markdown':
      if (!isObject(section) || !nonEmptyString(section.title)) return ROBOT_ERRORS.markdownTitle;
      if (!nonEmptyString(section.text)) return ROBOT_ERRORS.markdownText;
      break;
    case 'link':
      if (!isObject(section) || !nonEmptyString(section.title)) return missing('link->title');
      if (!nonEmptyString(section.text)) return missing('link->text');
      if (!nonEmptyString(section.messageUrl)) return missing('link->messageUrl');
      break;
    case 'actionCard': {
      if (!isObject(section) || !nonEmptyString(section.title)) return missing('actionCard->title');
      if (!nonEmptyString(section.text)) return missing('actionCard->text');
      const btns = section.btns;
      if (Array.isArray(btns) && btns.length > 0) {
        for (const [i, b] of btns.entries()) {
          if (!isObject(b) || !nonEmptyString(b.title) || !nonEmptyString(b.actionURL)) return missing(`actionCard->btns[${i}]`);
        }
      } else if (!nonEmptyString(section.singleTitle) || !nonEmptyString(section.singleURL)) {
        return missing('actionCard->singleTitle/singleURL');
      }
      break;
    }
    case 'feedCard': {
      const links = isObject(section) ? section.links : undefined;
      if (!Array.isArray(links) || links.length === 0) return missing('feedCard->links');
      for (const [i, l] of links.entries()) {
        if (!isObject(l) || !nonEmptyString(l.title) || !nonEmptyString(l.messageURL) || !nonEmptyString(l.picURL)) {
          return missing(`feedCard->links[${i}]`);
        }
      }
      break;
    }
    default:
      return { errcode: PARAM_ERROR, errmsg: `param error : msgtype ${type} is not supported` };
  }
  const at = body.at;
  if (at !== undefined) {
    if (!isObject(at)) return { errcode: PARAM_ERROR, errmsg: 'param error : at' };
    for (const key of ['atMobiles', 'atUserIds'] as const) {
      const list = at[key];
      if (list !== undefined && (!Array.isArray(list) || !list.every((v) => typeof v === 'string'))) {
        return { errcode: PARAM_ERROR, errmsg: `param error : at->${key}` };
      }
    }
  }
  return undefined;
}

/** What the keyword check reads: titles, texts, button and entry labels. */
function visibleText(body: Record<string, unknown>): string[] {
  const section = body[String(body.msgtype)];
  if (!isObject(section)) return [];
  const texts: unknown[] = [section.content, section.title, section.text, section.singleTitle];
  for (const list of [section.btns, section.links]) {
    if (Array.isArray(list)) for (const entry of list) if (isObject(entry)) texts.push(entry.title);
  }
  return texts.filter((t): t is string => typeof t === 'string');
}

function signatureMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startDingTalkRobot(options: DingTalkRobotServerOptions): Promise<DingTalkRobotServer> {
  const perMinute = options.perMinute ?? 20;
  const windowMs = options.signatureWindowMs ?? 3_600_000;
  const muteMs = options.muteMs ?? 0;
  const hangMs = options.hangMs ?? 30_000;
  const now = options.now ?? Date.now;
  let maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const robots = new Map<string, RobotConfig>(options.robots.map((r) => [r.token, { ...r }]));
  const modes = new Map<string, RobotMode>();
  const acceptedAt = new Map<string, number[]>();
  const mutedUntil = new Map<string, number>();
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<{ record: ReceivedRequest; res: ServerResponse; timer: NodeJS.Timeout }>();
  const sockets = new Set<Socket>();
  let seq = 0;

  const modeOf = (token: string | undefined): RobotMode => (token !== undefined ? modes.get(token) : undefined) ?? modes.get('*') ?? 'ok';

  const finish = (record: ReceivedRequest, answer: RobotAnswer) => {
    record.answer = answer;
    options.onRequest?.(record);
  };

  const reply = (record: ReceivedRequest, res: ServerResponse, status: number, payload: { errcode: number; errmsg: string } | string) => {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    if (!res.destroyed) {
      res.writeHead(status, { 'Content-Type': typeof payload === 'string' ? 'text/plain; charset=utf-8' : 'application/json;charset=UTF-8' });
      res.end(text);
    }
    finish(record, {
      kind: 'answered',
      status,
      body: text,
      ...(typeof payload === 'string' ? {} : { errcode: payload.errcode, errmsg: payload.errmsg }),
    });
  };

  /** The protocol proper, in the order DingTalk checks. */
  const protocolAnswer = (record: ReceivedRequest): { errcode: number; errmsg: string } => {
    const robot = record.token !== undefined ? robots.get(record.token) : undefined;
    if (!robot) return ROBOT_ERRORS.tokenNotExist;
    if (robot.secret) {
      const timestamp = record.query.timestamp ?? '';
      if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now() - Number(timestamp)) > windowMs) return ROBOT_ERRORS.invalidTimestamp;
      if (!signatureMatches(robotSignature(robot.secret, timestamp), record.query.sign ?? '')) return ROBOT_ERRORS.signNotMatch;
    }
    if (!String(record.headers['content-type'] ?? '').toLowerCase().includes('application/json')) return ROBOT_ERRORS.invalidContentType;
    if (Buffer.byteLength(record.rawBody, 'utf8') > maxBodyBytes) return ROBOT_ERRORS.tooLong;
    if (!isObject(record.json)) return ROBOT_ERRORS.missingJson;
    const shape = checkShape(record.json);
    if (shape) return shape;
    const keywords = (robot.keywords ?? []).filter((k) => k !== '');
    if (keywords.length > 0) {
      const texts = visibleText(record.json);
      if (!keywords.some((k) => texts.some((t) => t.includes(k)))) return ROBOT_ERRORS.keywordsNotInContent;
    }
    const at = now();
    if ((mutedUntil.get(robot.token) ?? 0) > at) return ROBOT_ERRORS.sendTooFast;
    const recent = (acceptedAt.get(robot.token) ?? []).filter((t) => at - t < 60_000);
    acceptedAt.set(robot.token, recent);
    if (recent.length >= perMinute) {
      if (muteMs > 0) mutedUntil.set(robot.token, at + muteMs);
      return ROBOT_ERRORS.sendTooFast;
    }
    recent.push(at);
    return ROBOT_ERRORS.ok;
  };

  const handle = (record: ReceivedRequest, req: IncomingMessage, res: ServerResponse) => {
    const mode = modeOf(record.token);
    if (mode === 'down') {
      req.socket.destroy();
      finish(record, { kind: 'closed', why: 'down' });
      return;
    }
    if (mode === 'hang') {
      const entry = {
        record,
        res,
        timer: setTimeout(() => {
          hanging.delete(entry);
          req.socket.destroy();
          finish(record, { kind: 'closed', why: 'hang-timeout' });
        }, hangMs),
      };
      hanging.add(entry);
      return;
    }
    if (mode === 'http500') {
      reply(record, res, 500, '<html><body><h1>500 Internal Server Error</h1></body></html>');
      return;
    }
    if (mode.startsWith('redirect:')) {
      const location = mode.slice('redirect:'.length);
      if (!res.destroyed) {
        res.writeHead(302, { Location: location, 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`Found: ${location}`);
      }
      finish(record, { kind: 'answered', status: 302, body: `Found: ${location}` });
      return;
    }
    if (mode.startsWith('errcode:')) {
      const errcode = Number(mode.slice('errcode:'.length));
      reply(record, res, 200, { errcode, errmsg: errmsgFor(errcode) });
      return;
    }
    if (record.method !== 'POST') {
      reply(record, res, 405, 'method not allowed');
      return;
    }
    if (record.path !== '/robot/send') {
      reply(record, res, 404, 'not found');
      return;
    }
    const answer = protocolAnswer(record);
    record.accepted = answer.errcode === 0;
    reply(record, res, 200, answer);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > READ_LIMIT_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://robot.local');
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = undefined;
      }
      const record: ReceivedRequest = {
        seq: ++seq,
        time: now(),
        remoteAddress: req.socket.remoteAddress ?? '',
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        token: url.searchParams.get('access_token') ?? undefined,
        headers: req.headers,
        rawBody,
        json,
        answer: undefined,
        accepted: false,
      };
      requests.push(record);
      if (tooLarge) reply(record, res, 413, 'request entity too large');
      else handle(record, req, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;

  const releaseHanging = (token: string) => {
    for (const entry of [...hanging]) {
      if (token !== '*' && entry.record.token !== token) continue;
      if (modeOf(entry.record.token) === 'hang') continue;
      clearTimeout(entry.timer);
      hanging.delete(entry);
      // Processed even if the client gave up meanwhile, as DingTalk would: a message
      // can be accepted after its sender timed out (the cause of duplicates on retry).
      handle(entry.record, entry.res.req, entry.res);
    }
  };

  const accepted = (token?: string) => requests.filter((r) => r.accepted && (token === undefined || r.token === token));

  return {
    url: base,
    port: address.port,
    webhookUrl: (token) => `${base}/robot/send?access_token=${encodeURIComponent(token)}`,
    requests,
    accepted,
    setMode(token, mode) {
      if (mode === 'ok' && token !== '*') modes.delete(token);
      else modes.set(token, mode);
      releaseHanging(token);
    },
    addRobot(robot) {
      robots.set(robot.token, { ...robot });
    },
    removeRobot(token) {
      robots.delete(token);
    },
    setMaxBodyBytes(bytes) {
      maxBodyBytes = bytes;
    },
    mute(token, ms) {
      if (ms > 0) mutedUntil.set(token, now() + ms);
      else mutedUntil.delete(token);
    },
    unmutesAt(token) {
      const until = mutedUntil.get(token);
      return until !== undefined && until > now() ? until : undefined;
    },
    clear() {
      requests.length = 0;
      acceptedAt.clear();
      mutedUntil.clear();
    },
    async waitForAccepted(count, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 15_000);
      while (accepted(waitOptions.token).length < count) {
        if (Date.now() > deadline) {
          const seen = requests.map((r) => `#${r.seq} ${r.answer?.kind === 'answered' ? `errcode ${r.answer.errcode ?? r.answer.status}` : (r.answer?.why ?? 'pending')}`);
          throw new Error(`expected ${count} accepted DingTalk messages, got ${accepted(waitOptions.token).length}; requests: ${seen.join(', ') || 'none'}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return accepted(waitOptions.token);
    },
    async close() {
      for (const entry of hanging) {
        clearTimeout(entry.timer);
        finish(entry.record, { kind: 'closed', why: 'server-closed' });
      }
      hanging.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------
// Showing a received message to a person

const indent = (text: string, prefix = '  '): string =>
  text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');

/** A received message as a person would like to read it: type, title, text, links, mentions. */
export function formatMessageForHumans(body: unknown): string {
  if (!isObject(body)) return `(not a JSON object) ${JSON.stringify(body)}`;
  const type = typeof body.msgtype === 'string' ? body.msgtype : '(no msgtype)';
  const section = isObject(body[type]) ? (body[type] as Record<string, unknown>) : {};
  const lines: string[] = [];
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const title = str(section.title);
  lines.push(`[${type}]${title ? ` ${title}` : ''}`);
  const text = str(section.content) ?? str(section.text);
  if (text) lines.push(indent(text));
  const messageUrl = str(section.messageUrl);
  if (messageUrl) lines.push(`  → ${messageUrl}`);
  if (str(section.singleTitle)) lines.push(`  [${str(section.singleTitle)}] → ${str(section.singleURL) ?? ''}`);
  if (Array.isArray(section.btns)) {
    for (const b of section.btns) if (isObject(b)) lines.push(`  [${str(b.title) ?? ''}] → ${str(b.actionURL) ?? ''}`);
  }
  if (Array.isArray(section.links)) {
    for (const l of section.links) if (isObject(l)) lines.push(`  • ${str(l.title) ?? ''} → ${str(l.messageURL) ?? ''}`);
  }
  if (isObject(body.at)) {
    const who = [
      ...(Array.isArray(body.at.atMobiles) ? body.at.atMobiles : []),
      ...(Array.isArray(body.at.atUserIds) ? body.at.atUserIds : []),
    ].map(String);
    if (body.at.isAtAll === true) who.push('everyone');
    if (who.length > 0) lines.push(`  @ ${who.join(', ')}`);
  }
  return lines.join('\n');
}

/** What the robot did with a request, in a few words: accepted, refused: errcode …, HTTP …, connection closed. */
export function describeAnswer(request: ReceivedRequest): string {
  const answer = request.answer;
  if (answer === undefined) return 'pending';
  if (answer.kind === 'closed') return `connection closed (${answer.why})`;
  if (answer.errcode === 0) return 'accepted';
  if (answer.errcode !== undefined) return `refused: errcode ${answer.errcode} ${answer.errmsg ?? ''}`;
  return `HTTP ${answer.status}`;
}

function describe(request: ReceivedRequest): string {
  const time = new Date(request.time).toISOString().slice(11, 19);
  const outcome = describeAnswer(request);
  const head = `${time} #${request.seq} robot ${request.token ?? '(no token)'}: ${outcome}`;
  return request.json === undefined ? `${head}\n  (body is not JSON: ${JSON.stringify(request.rawBody.slice(0, 200))})` : `${head}\n${indent(formatMessageForHumans(request.json))}`;
}

// ---------------------------------------------------------------------------
// Command line

const usage = `usage: node build/test/support/dingtalk-robot.js [--host H] [--port N] --token T [--secret S] [--keyword K]... [--token T2 ...]
        [--per-minute 20] [--mute-ms 0]

Runs a local DingTalk custom robot and prints every message it receives.
--secret and --keyword apply to the --token before them.`;

export function parseRobotArgs(argv: string[]): { options: DingTalkRobotServerOptions; help: boolean } {
  const robots: RobotConfig[] = [];
  const options: DingTalkRobotServerOptions = { robots, port: 0 };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  const current = (flag: string): RobotConfig => {
    const robot = robots[robots.length - 1];
    if (!robot) throw new Error(`${flag} must follow a --token`);
    return robot;
  };
  const number = (text: string, flag: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, not ${JSON.stringify(text)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    switch (flag) {
      case '--help':
      case '-h':
        return { options, help: true };
      case '--host':
        options.host = value(i++, flag);
        break;
      case '--port':
        options.port = number(value(i++, flag), flag);
        break;
      case '--token':
        robots.push({ token: value(i++, flag) });
        break;
      case '--secret':
        current(flag).secret = value(i++, flag);
        break;
      case '--keyword':
        (current(flag).keywords ??= []).push(value(i++, flag));
        break;
      case '--per-minute':
        options.perMinute = number(value(i++, flag), flag);
        break;
      case '--mute-ms':
        options.muteMs = number(value(i++, flag), flag);
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (robots.length === 0) throw new Error('at least one --token is needed');
  return { options, help: false };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseRobotArgs>;
  try {
    parsed = parseRobotArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const robot = await startDingTalkRobot({
    ...parsed.options,
    onRequest: (request) => process.stdout.write(`${describe(request)}\n`),
  });
  for (const config of parsed.options.robots) {
    const security = [config.secret ? 'signed' : '', config.keywords?.length ? `keywords ${config.keywords.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    process.stdout.write(`DingTalk robot listening: ${robot.webhookUrl(config.token)}${security ? ` (${security})` : ''}\n`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await robot.close();
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}

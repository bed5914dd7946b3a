// bench/robot-post: the client-side cost of one DingTalk robot POST, the thin node:http
// POST (src/channels/http-post.ts, through DingTalkRobot.post) against the axios request
// it replaced (the old DingTalkRobot.post, copied below), alternating A,B,A,B… so that
// both sides see the same machine. Each run posts N messages one after the other to the
// test robot stand-in (test/support/dingtalk-robot.ts), started as a child process so
// that its CPU is not counted; CPU is this process's (process.cpuUsage: user + system).
// axios is a devDependency only for this comparison (docs/adr/0005-thin-robot-post.md).
// Prints one line per run, the ranges per side, and last one JSON line with every figure.
//
//   flock ~/.cache/herald/heavy.lock node build/bench/robot-post/main.js [--messages 5000] [--rounds 3]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { classifyAnswer, classifyNetworkFailure, DINGTALK_THROTTLE_MS, type DingTalkAnswer } from '../../src/channels/dingtalk/answer.js';
import { DingTalkRobot, prepareMessage, type PreparedMessage } from '../../src/channels/dingtalk/robot.js';
import { signedUrl } from '../../src/channels/dingtalk/sign.js';
import { machine, printJson, printer } from '../lib/report.js';
import { round } from '../lib/stats.js';
import { formatRange } from '../lib/table.js';

const print = printer('robot-post');
const TIMEOUT_MS = 10_000;
const RESPONSE_LIMIT_BYTES = 64 * 1024;

/** The old DingTalkRobot.post's request (main at 1c25c74), unchanged but for the names. */
async function axiosPost(http: AxiosInstance, webhookUrl: string, prepared: PreparedMessage, signal: AbortSignal): Promise<DingTalkAnswer> {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const combined = AbortSignal.any([signal, timeout]);
  let response: AxiosResponse<unknown>;
  try {
    response = await http.request<unknown>({
      method: 'POST',
      url: signedUrl(webhookUrl, undefined, Date.now()),
      data: JSON.stringify(prepared.body),
      headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
      timeout: TIMEOUT_MS,
      signal: combined,
      responseType: 'text',
      transformRequest: [(data: unknown) => data],
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: RESPONSE_LIMIT_BYTES,
    });
  } catch (error) {
    throw classifyNetworkFailure(error, { cancelled: signal.aborted, timedOut: timeout.aborted, timeoutMs: TIMEOUT_MS });
  }
  const retryAfter = response.headers['retry-after'];
  const classified = classifyAnswer(
    { status: response.status, body: typeof response.data === 'string' ? response.data : '', ...(typeof retryAfter === 'string' ? { retryAfter } : {}) },
    { nowMs: Date.now(), throttledRetryMs: DINGTALK_THROTTLE_MS },
  );
  if (classified.kind !== 'success') throw classified.error;
  return classified.answer;
}

/** The stand-in robot in a child process; resolves with its webhook URL. */
async function startRobot(token: string): Promise<{ webhookUrl: string; stop: () => Promise<void> }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), '../../test/support/dingtalk-robot.js');
  const child = spawn(process.execPath, [script, '--port', '0', '--token', token, '--per-minute', '1000000000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let webhookUrl: string | undefined;
  for await (const line of lines) {
    const match = /^DingTalk robot listening: (\S+)/.exec(line);
    if (match) {
      webhookUrl = match[1];
      break;
    }
  }
  if (!webhookUrl) throw new Error('the robot stand-in did not start');
  child.stdout.resume(); // it prints every request; read and drop
  return {
    webhookUrl,
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

interface Run {
  side: 'axios' | 'http-post';
  round: number;
  cpuUsPerPost: number;
  wallMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } } });
  const messages = Number(values.messages);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(messages) || messages < 1 || !Number.isInteger(rounds) || rounds < 1) {
    throw new Error('usage: main.js [--messages N] [--rounds N] (positive integers)');
  }
  const prepared = prepareMessage({
    rendered: { dingtalk: { msgType: 'markdown', title: 'ArgoCD: guestbook', text: '### guestbook synced\n\n- revision `a1b2c3d`\n- [open](https://argocd.example.com/applications/argocd/guestbook)' } },
    idempotencyKey: 'bench-message',
  });
  const shutdown = new AbortController(); // long-lived, as the dispatcher's
  const http = axios.create();
  const poster = (side: Run['side'], webhookUrl: string): (() => Promise<unknown>) => {
    if (side === 'axios') return () => axiosPost(http, webhookUrl, prepared, shutdown.signal);
    const robot = new DingTalkRobot({ webhookUrl, timeoutMs: TIMEOUT_MS });
    return () => robot.post(prepared, shutdown.signal);
  };
  // A fresh stand-in per run: it keeps every request it received, and its rate window
  // (set wide open here) grows with the run, so a reused one slows down run after run.
  const sides = ['axios', 'http-post'] as const;

  // Warm both paths (JIT) before measuring.
  for (const side of sides) {
    const warm = await startRobot('benchrobottoken');
    const post = poster(side, warm.webhookUrl);
    for (let i = 0; i < 500; i++) await post();
    await warm.stop();
  }

  const runs: Run[] = [];
  for (let round_ = 1; round_ <= rounds; round_++) {
    for (const side of sides) {
      const robotServer = await startRobot('benchrobottoken');
      const post = poster(side, robotServer.webhookUrl);
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < messages; i++) await post();
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      await robotServer.stop();
      const run: Run = { side, round: round_, cpuUsPerPost: (used.user + used.system) / messages, wallMs };
      runs.push(run);
      print(`round ${round_} ${side.padEnd(9)} ${messages} POSTs: ${run.cpuUsPerPost.toFixed(1)} CPU-µs per POST, ${Math.round(wallMs)} ms wall (${((wallMs * 1000) / messages).toFixed(0)} µs per POST)`);
    }
  }

  const summary: Record<string, unknown> = {};
  for (const side of sides) {
    const mine = runs.filter((r) => r.side === side);
    const cpu = mine.map((r) => r.cpuUsPerPost);
    const wall = mine.map((r) => r.wallMs);
    print(`${side.padEnd(9)} CPU-µs per POST ${formatRange(cpu, (v) => v.toFixed(0))}, wall per ${messages} ${formatRange(wall, (v) => `${Math.round(v)} ms`)}`);
    summary[side] = { cpuUsPerPost: cpu.map((v) => round(v)), wallMs: wall.map((v) => Math.round(v)) };
  }
  printJson({ bench: 'robot-post', messages, rounds, machine: machine(), ...summary });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

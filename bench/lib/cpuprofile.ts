// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went within a
// window: self time by function and by area (herald's own folders, each npm
// package, Node internals, GC), and inclusive time of herald's functions. The
// profile's clock is CLOCK_MONOTONIC in microseconds, the same clock as
// process.hrtime() in any process on the machine, so a bench can cut the profile
// into its phases with timestamps it took itself.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  /** Sampled time in the window, ms (idle excluded). */
  busyMs: number;
  idleMs: number;
  /** Self time by area: src/controller, node_modules/@kubernetes/client-node, (gc), node:internal… */
  areas: Hotspot[];
  /** Self time by function (name file:line). */
  selfTop: Hotspot[];
  /** Inclusive time of functions in herald's own code (src/), callers included once per sample. */
  inclusiveTop: Hotspot[];
}

function areaOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program: V8/native)';
    return '(native)';
  }
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const own = /\/build\/(src\/[^/]+)\//.exec(url);
  if (own) return own[1]!;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\//, '');
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\/.*?\/build\//, '').replace(/^file:\/\/.*?\/node_modules\//, '');
  return `${functionName || '(anonymous)'} ${file}${url ? `:${lineNumber + 1}` : ''}`;
}

/** Summarises the samples taken between fromUs and toUs (monotonic µs; whole profile when omitted). */
export function summariseProfile(file: string, fromUs = -Infinity, toUs = Infinity, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    // A sample's duration is the gap to the next one.
    const next = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + next);
  }

  const areas = new Map<string, number>();
  const selfByFrame = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    if (area === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = frameName(node);
    selfByFrame.set(name, (selfByFrame.get(name) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!;
      if (!/\/build\/src\//.test(frame.callFrame.url)) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const rank = (map: Map<string, number>): Hotspot[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: busy ? Math.round((1000 * us) / busy) / 10 : 0 }));
  return { busyMs: Math.round(busy / 1000), idleMs: Math.round(idle / 1000), areas: rank(areas), selfTop: rank(selfByFrame), inclusiveTop: rank(inclusive) };
}

export function printSummary(title: string, summary: ProfileSummary, print: (line: string) => void, lines = 8): void {
  print(`${title}: ${summary.busyMs} ms sampled busy in the operator's main thread (${summary.idleMs} ms idle; wall time of the samples, so CPU contention inflates it)`);
  print('  self time by area:');
  for (const h of summary.areas.slice(0, lines)) print(`    ${String(h.share).padStart(5)}%  ${String(h.ms).padStart(7)} ms  ${h.name}`);
  print('  self time by function:');
  for (const h of summary.selfTop.slice(0, lines)) print(`    ${String(h.share).padStart(5)}%  ${String(h.ms).padStart(7)} ms  ${h.name}`);
  print('  inclusive time, herald code:');
  for (const h of summary.inclusiveTop.slice(0, lines)) print(`    ${String(h.share).padStart(5)}%  ${String(h.ms).padStart(7)} ms  ${h.name}`);
}

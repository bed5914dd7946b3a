// bench/engine's command line.
import { resolve } from 'node:path';

export const PHASES = ['cold', 'churn', 'mass', 'capacity'] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  operator: 'herald' | 'anchor';
  apps: number;
  rate: number;
  duration: number;
  mass: number;
  concurrency: number;
  cpuProfileDir: string | undefined;
  workers: number | undefined;
  /** anchor: the engine's processors (Argo CD's --processors-count). */
  processors: number;
  /** anchor: client-go QPS and burst (0 = client-go's defaults, 5/10, as Argo CD ships). */
  kubeQps: number;
  kubeBurst: number;
  /** Channels the apps are spread over; above 1, each within DingTalk's 20 a minute. */
  channels: number;
  phases: Phase[];
  capacityRates: number[];
  capacityStepSeconds: number;
  seed: number;
  namespace: string;
}

export const USAGE = `usage: node build/bench/engine/main.js [--operator herald|anchor] [--apps 1000] [--rate 50] [--duration 60]
       [--mass 1000] [--phases cold,churn,mass] [--capacity-rates 25,50,75,100,150,200,300] [--capacity-step 20]
       [--channels 1] [--processors 1] [--kube-qps 1000] [--kube-burst 2000] [--concurrency 32] [--workers N]
       [--cpu-prof DIR] [--seed 1]
`;

export function parseOptions(argv: string[]): Options {
  const options: Options = {
    operator: 'herald',
    apps: 1000,
    rate: 50,
    duration: 60,
    mass: 1000,
    concurrency: 32,
    cpuProfileDir: undefined,
    workers: undefined,
    processors: 1,
    kubeQps: 1000,
    kubeBurst: 2000,
    channels: 1,
    phases: ['cold', 'churn', 'mass'],
    capacityRates: [25, 50, 75, 100, 150, 200, 300],
    capacityStepSeconds: 20,
    seed: 1,
    namespace: 'argocd',
  };
  let phasesGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    const whole = (text: string) => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got "${text}"`);
      return n;
    };
    const int = () => whole(value());
    switch (flag) {
      case '--operator': {
        const operator = value();
        if (operator !== 'herald' && operator !== 'anchor') throw new Error('--operator is herald or anchor');
        options.operator = operator;
        break;
      }
      case '--apps': options.apps = int(); break;
      case '--rate': options.rate = int(); break;
      case '--duration': options.duration = int(); break;
      case '--mass': options.mass = int(); break;
      case '--concurrency': options.concurrency = int(); break;
      case '--workers': options.workers = int(); break;
      case '--processors': options.processors = Math.max(1, int()); break;
      case '--kube-qps': options.kubeQps = int(); break;
      case '--kube-burst': options.kubeBurst = int(); break;
      case '--channels': options.channels = Math.max(1, int()); break;
      case '--seed': options.seed = int(); break;
      case '--capacity-step': options.capacityStepSeconds = Math.max(4, int()); break;
      case '--capacity-rates': options.capacityRates = value().split(',').map(whole).filter((n) => n > 0).sort((a, b) => a - b); break;
      case '--phases': {
        const list = value().split(',').filter(Boolean);
        for (const phase of list) if (!(PHASES as readonly string[]).includes(phase)) throw new Error(`unknown phase ${phase} (${PHASES.join(', ')})`);
        options.phases = list as Phase[];
        phasesGiven = true;
        break;
      }
      case '--cpu-prof': options.cpuProfileDir = resolve(value()); break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  // The many-channel shape measures churn; a mass sync would only wait for 20-a-minute limits.
  if (options.channels > 1 && !phasesGiven) options.phases = ['cold', 'churn'];
  if (!options.phases.includes('cold')) options.phases.unshift('cold');
  if (options.cpuProfileDir && options.operator !== 'herald') throw new Error('--cpu-prof profiles herald (node); for the anchor use Go tooling');
  options.mass = Math.min(options.mass, options.apps);
  return options;
}

// Follows alerts through Prometheus' own API: each poll reads the ALERTS series (its
// alertstate, stamped with Prometheus' evaluation time) and /api/v1/alerts (activeAt),
// and records every change of state, so the test output shows when Prometheus saw
// pending, firing and resolved.
import type { PrometheusServer } from './prometheus.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

interface Transition {
  alert: string;
  state: AlertState;
  /** Prometheus' time of the evaluation that showed the state (ISO). */
  at: string;
  /** activeAt from /api/v1/alerts, when Prometheus gave one. */
  activeAt?: string;
}

export class AlertTimeline {
  private readonly transitions: Transition[] = [];
  private readonly current = new Map<string, AlertState>();
  private stopped = false;

  constructor(
    private readonly prometheus: PrometheusServer,
    private readonly names: string[],
  ) {}

  /** Polls every second until stop(). */
  async watch(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.poll();
      } catch {
        // Prometheus busy: the next poll tells
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  async stop(watching: Promise<void>): Promise<void> {
    this.stopped = true;
    await watching;
  }

  private async poll(): Promise<void> {
    const selector = `ALERTS{alertname=~"${this.names.join('|')}"}`;
    const [series, seconds, active] = await Promise.all([this.prometheus.query(selector), this.prometheus.now(), this.prometheus.alerts()]);
    for (const name of this.names) {
      const states = series.filter((s) => s.metric.alertname === name).map((s) => s.metric.alertstate);
      const next: AlertState | undefined = states.includes('firing') ? 'firing' : states.includes('pending') ? 'pending' : this.current.has(name) ? 'resolved' : undefined;
      if (next === undefined || next === this.current.get(name)) continue;
      const stamp = series.find((s) => s.metric.alertname === name)?.value[0] ?? seconds;
      const activeAt = active.find((a) => a.labels.alertname === name)?.activeAt;
      this.transitions.push({ alert: name, state: next, at: new Date(stamp * 1000).toISOString(), ...(activeAt ? { activeAt } : {}) });
      this.current.set(name, next);
    }
  }

  reached(name: string, state: AlertState): boolean {
    return this.transitions.some((t) => t.alert === name && t.state === state);
  }

  /** The state seen last (undefined before the first). */
  latest(name: string): AlertState | undefined {
    return this.current.get(name);
  }

  states(name: string): AlertState[] {
    return this.transitions.filter((t) => t.alert === name).map((t) => t.state);
  }

  report(): string {
    if (this.transitions.length === 0) return `no state seen for ${this.names.join(', ')}`;
    return this.transitions.map((t) => `${t.at} ${t.alert} ${t.state}${t.activeAt ? ` (activeAt ${t.activeAt})` : ''}`).join('\n');
  }
}

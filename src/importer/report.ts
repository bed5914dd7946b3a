// What an import leaves out, what differs in meaning and what the user still has to do,
// collected while converting. Every entry names the ConfigMap key it is about (and
// the place inside that key's value), so the user can find it.
import { parse as parseYaml } from 'yaml';

export class Report {
  /** What was left out, each with its ConfigMap key and the reason. */
  readonly omitted: string[] = [];
  /** Differences in meaning worth knowing. */
  readonly notes: string[] = [];
  /** What the user still has to do (flags, annotations, secret values). */
  readonly nextSteps: string[] = [];

  /** The entries about one ConfigMap key. */
  about(key: string): KeyReport {
    return new KeyReport(this, `${key}: `);
  }

  nextStep(step: string): void {
    this.nextSteps.push(step);
  }
}

/** Omissions and notes about one ConfigMap key, or one place inside its value. */
export class KeyReport {
  constructor(
    private readonly report: Report,
    private readonly prefix: string,
  ) {}

  /** The entries about a place inside this one (`[0].when`, `webhook.ops.body`, …). */
  at(place: string): KeyReport {
    return new KeyReport(this.report, `${this.prefix}${place}: `);
  }

  omit(why: string): void {
    this.report.omitted.push(`${this.prefix}${why}`);
  }

  note(what: string): void {
    this.report.notes.push(`${this.prefix}${what}`);
  }

  /** A translator's problems (left out) and notes, as entries about this place. */
  translated(result: { problems: readonly string[]; notes: readonly string[] }): void {
    for (const problem of result.problems) this.omit(problem);
    for (const note of result.notes) this.note(note);
  }

  /** This key's value parsed as YAML; undefined (and reported) when it is not valid YAML. */
  yaml(text: string): unknown {
    try {
      return parseYaml(text);
    } catch (error) {
      this.omit(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  }
}

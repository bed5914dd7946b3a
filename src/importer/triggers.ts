// `trigger.<name>` → a NotificationTrigger: each condition's `when` and `oncePer`
// translated from expr to CEL and type-checked against the Application schema; a
// condition that cannot be translated is left out and reported.
import { HERALD_API_VERSION } from '../api/groups.js';
import type { NotificationTrigger, NotificationTriggerSpec } from '../api/generated.js';
import { isObjectName } from '../names.js';
import { compileTrigger, formatTriggerErrors } from '../triggers/index.js';
import { exprToCel } from './expr/index.js';
import type { Report } from './report.js';
import type { ConvertedResource, ImportOptions } from './resources.js';

export function convertTrigger(key: string, text: string, templates: ReadonlySet<string>, options: ImportOptions, report: Report): ConvertedResource | undefined {
  const about = report.about(key);
  const name = key.slice('trigger.'.length);
  if (!isObjectName(name)) {
    about.omit(`"${name}" is not a valid resource name`);
    return undefined;
  }
  const conditions = about.yaml(text) as Array<Record<string, unknown>> | undefined;
  if (conditions === undefined) return undefined;
  if (!Array.isArray(conditions)) {
    about.omit('a trigger must be a list of conditions');
    return undefined;
  }
  const spec: NotificationTriggerSpec = { conditions: [] };
  conditions.forEach((condition, index) => {
    const where = `[${index}]`;
    if (!condition || typeof condition !== 'object' || typeof condition.when !== 'string') {
      about.at(where).omit('a condition needs when');
      return;
    }
    const when = exprToCel(condition.when);
    for (const n of when.notes) about.at(`${where}.when`).note(n);
    if (when.cel === undefined) {
      about.at(`${where}.when`).omit(`${JSON.stringify(condition.when)} cannot be translated to CEL: ${when.problem}; condition left out`);
      return;
    }
    let oncePer: string | undefined;
    if (condition.oncePer !== undefined && condition.oncePer !== '') {
      const translated = exprToCel(String(condition.oncePer));
      for (const n of translated.notes) about.at(`${where}.oncePer`).note(n);
      if (translated.cel === undefined) {
        about.at(`${where}.oncePer`).omit(`${JSON.stringify(condition.oncePer)} cannot be translated to CEL: ${translated.problem}; condition left out`);
        return;
      }
      oncePer = translated.cel;
    }
    const send = Array.isArray(condition.send) ? condition.send.map(String) : [];
    if (send.length === 0) {
      about.at(where).omit('a condition needs send');
      return;
    }
    for (const template of send) {
      if (!templates.has(template)) about.at(where).note(`sends template ${template}, which is not among the converted templates`);
    }
    const converted = {
      ...(typeof condition.description === 'string' ? { description: condition.description } : {}),
      when: when.cel,
      send,
      ...(oncePer === undefined ? {} : { oncePer }),
    };
    // The translation must also type-check against the Application schema.
    const check = compileTrigger({ conditions: [converted] });
    if (!check.ok) {
      about.at(where).omit(`the CEL translation ${JSON.stringify(when.cel)} does not compile (${formatTriggerErrors(check.errors)}); condition left out`);
      return;
    }
    for (const other of Object.keys(condition)) {
      if (!['description', 'when', 'send', 'oncePer'].includes(other)) about.at(`${where}.${other}`).omit('not converted');
    }
    spec.conditions.push({ name: `condition-${index}`, ...converted });
  });
  if (spec.conditions.length === 0) {
    about.omit('no condition could be converted; the trigger was not written');
    return undefined;
  }
  // A condition's name is its identity in herald's send ledger; one condition needs none.
  if (spec.conditions.length === 1) delete spec.conditions[0]!.name;
  else {
    about.note(
      `its conditions are named ${spec.conditions.map((c) => c.name).join(', ')} after their place in the ConfigMap; ` +
        'rename them to say what they mean before herald first starts (renaming one later makes it a new condition)',
    );
  }
  const trigger: NotificationTrigger = { apiVersion: HERALD_API_VERSION, kind: 'NotificationTrigger', metadata: { name, namespace: options.namespace }, spec };
  return { kind: 'NotificationTrigger', name, from: key, objects: [trigger] };
}

// Kubernetes label selector strings (`env=prod,tier in (web,api),!legacy`), as Argo CD
// notification subscriptions write them, into the structured form a DingTalkChannel
// subscription uses. Pure.
import type { LabelSelector } from '../controller/selector.js';

export type SelectorResult = { selector: LabelSelector } | { problem: string };

/** Splits at commas that are not inside parentheses. */
function requirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?|`;

export function parseLabelSelector(text: string): SelectorResult {
  const selector: Required<LabelSelector> = { matchLabels: {}, matchExpressions: [] };
  for (const requirement of requirements(text)) {
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(requirement))) {
      const [key, op, value] = [m[1]!, m[3]!, m[4] ?? ''];
      if (op === '!=') selector.matchExpressions.push({ key, operator: 'NotIn', values: [value] });
      else selector.matchLabels[key] = value;
    } else if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(requirement))) {
      const values = m[4]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      selector.matchExpressions.push({ key: m[1]!, operator: m[3] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = new RegExp(`^!\\s*(${KEY})$`).exec(requirement))) {
      selector.matchExpressions.push({ key: m[1]!, operator: 'DoesNotExist' });
    } else if ((m = new RegExp(`^(${KEY})$`).exec(requirement))) {
      selector.matchExpressions.push({ key: m[1]!, operator: 'Exists' });
    } else {
      return { problem: `cannot read the label selector requirement ${JSON.stringify(requirement)}` };
    }
  }
  const out: LabelSelector = {};
  if (Object.keys(selector.matchLabels).length > 0) out.matchLabels = selector.matchLabels;
  if (selector.matchExpressions.length > 0) out.matchExpressions = selector.matchExpressions;
  return { selector: out };
}

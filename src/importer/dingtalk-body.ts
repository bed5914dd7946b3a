// A DingTalk webhook body (JSON with Go template actions inside its strings) → the
// structured spec.dingtalk of a NotificationTemplate: herald builds the body as an
// object, so each string field is translated on its own.
import type { NotificationTemplateSpec } from '../api/generated.js';
import { goTemplateToNunjucks, splitActions } from './gotemplate/index.js';
import type { KeyReport } from './report.js';

type DingTalkSpec = NonNullable<NotificationTemplateSpec['dingtalk']>;

const PLACEHOLDER = (i: number) => `@@HERALD_GO_${i}@@`;

/** The body's Go template actions are set aside, the JSON is parsed, then each string field is translated. */
export function convertDingTalkBody(body: string, about: KeyReport): DingTalkSpec | undefined {
  let pieces;
  try {
    pieces = splitActions(body);
  } catch (error) {
    about.omit((error as Error).message);
    return undefined;
  }
  const actions: string[] = [];
  const raw = pieces
    .map((piece) => {
      if (piece.kind === 'text') return piece.text;
      if (piece.body.startsWith('/*')) return '';
      actions.push(piece.body);
      return PLACEHOLDER(actions.length - 1);
    })
    .join('');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    about.omit(`not a JSON object once the template actions are set aside (${(error as Error).message}); only actions inside JSON strings are converted`);
    return undefined;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    about.omit('not a JSON object');
    return undefined;
  }
  const restore = (text: string) => text.replace(/@@HERALD_GO_(\d+)@@/g, (_, i: string) => `{{${actions[Number(i)]}}}`);
  const field = (path: string, value: unknown): string | undefined => {
    if (typeof value !== 'string') {
      about.at(path).omit(`expected a string, got ${JSON.stringify(value)}`);
      return undefined;
    }
    const t = goTemplateToNunjucks(restore(value));
    about.at(path).translated(t);
    return t.text;
  };
  const object = json as Record<string, unknown>;
  const msgtype = object.msgtype;
  const types = ['text', 'markdown', 'link', 'actionCard', 'feedCard'] as const;
  if (typeof msgtype !== 'string' || !(types as readonly string[]).includes(msgtype)) {
    about.omit(`msgtype ${JSON.stringify(msgtype)} is not a DingTalk robot message type (${types.join(', ')})`);
    return undefined;
  }
  const spec: DingTalkSpec = { msgType: msgtype as DingTalkSpec['msgType'] };
  const content = (object[msgtype] ?? {}) as Record<string, unknown>;
  const set = (target: keyof DingTalkSpec, path: string, value: unknown) => {
    if (value === undefined) return;
    const converted = field(path, value);
    if (converted !== undefined) (spec as Record<string, unknown>)[target] = converted;
  };
  const known: Record<string, Array<[string, keyof DingTalkSpec]>> = {
    text: [['content', 'text']],
    markdown: [['title', 'title'], ['text', 'text']],
    link: [['title', 'title'], ['text', 'text'], ['messageUrl', 'messageURL'], ['picUrl', 'picURL']],
    actionCard: [['title', 'title'], ['text', 'text'], ['singleTitle', 'singleTitle'], ['singleURL', 'singleURL']],
    feedCard: [],
  };
  const handled = new Set(known[msgtype]!.map(([from]) => from));
  for (const [from, to] of known[msgtype]!) set(to, `${msgtype}.${from}`, content[from]);
  if (msgtype === 'actionCard') {
    handled.add('btnOrientation').add('btns');
    if (content.btnOrientation !== undefined) {
      const orientation = String(content.btnOrientation);
      if (orientation === '0' || orientation === '1') spec.btnOrientation = orientation;
      else about.omit(`actionCard.btnOrientation ${JSON.stringify(content.btnOrientation)} is not "0" or "1"`);
    }
    if (Array.isArray(content.btns)) {
      spec.btns = content.btns.map((b: Record<string, unknown>, i) => ({
        title: field(`actionCard.btns[${i}].title`, b?.title) ?? '',
        actionURL: field(`actionCard.btns[${i}].actionURL`, b?.actionURL) ?? '',
      }));
    }
  }
  if (msgtype === 'feedCard') {
    handled.add('links');
    if (Array.isArray(content.links)) {
      spec.links = content.links.map((l: Record<string, unknown>, i) => {
        const picURL = l?.picURL === undefined ? undefined : field(`feedCard.links[${i}].picURL`, l.picURL);
        return {
          title: field(`feedCard.links[${i}].title`, l?.title) ?? '',
          messageURL: field(`feedCard.links[${i}].messageURL`, l?.messageURL) ?? '',
          ...(picURL === undefined ? {} : { picURL }),
        };
      });
    }
  }
  for (const other of Object.keys(content)) if (!handled.has(other)) about.omit(`${msgtype}.${other} is not converted`);

  for (const [topKey, value] of Object.entries(object)) {
    if (topKey === 'msgtype' || topKey === msgtype) continue;
    if (topKey === 'at' && value && typeof value === 'object') {
      const at = value as { atMobiles?: unknown; atUserIds?: unknown; isAtAll?: unknown };
      const list = (path: string, items: unknown) =>
        Array.isArray(items) ? items.flatMap((item, i) => field(`${path}[${i}]`, String(item)) ?? []) : [];
      const mobiles = list('at.atMobiles', at.atMobiles);
      const userIds = list('at.atUserIds', at.atUserIds);
      spec.at = {
        ...(mobiles.length > 0 ? { mobiles } : {}),
        ...(userIds.length > 0 ? { userIds } : {}),
        ...(at.isAtAll === true || at.isAtAll === 'true' ? { all: true } : {}),
      };
      if (Object.keys(spec.at).length === 0) delete spec.at;
      for (const other of Object.keys(at)) if (!['atMobiles', 'atUserIds', 'isAtAll'].includes(other)) about.omit(`at.${other} is not converted`);
      continue;
    }
    about.omit(`${topKey} is not converted`);
  }
  return spec;
}

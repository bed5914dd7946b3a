// Custom keywords: DingTalk drops a message that contains none of the robot's
// keywords, so herald refuses it before sending, saying where it looked (pure).
import type { DingTalkBody } from './body.js';

/**
 * The fields herald treats as the message's visible text for the keyword check.
 * DingTalk does not document the exact set; these are what a reader sees (titles,
 * texts, button and entry labels), see docs/reference/dingtalk.md.
 */
export function visibleText(body: DingTalkBody): Array<[field: string, value: string]> {
  switch (body.msgtype) {
    case 'text':
      return [['text.content', body.text.content]];
    case 'markdown':
      return [
        ['markdown.title', body.markdown.title],
        ['markdown.text', body.markdown.text],
      ];
    case 'link':
      return [
        ['link.title', body.link.title],
        ['link.text', body.link.text],
      ];
    case 'actionCard': {
      const card = body.actionCard;
      const fields: Array<[string, string]> = [
        ['actionCard.title', card.title],
        ['actionCard.text', card.text],
      ];
      if (card.singleTitle) fields.push(['actionCard.singleTitle', card.singleTitle]);
      (card.btns ?? []).forEach((b, i) => fields.push([`actionCard.btns[${i}].title`, b.title]));
      return fields;
    }
    case 'feedCard':
      return body.feedCard.links.map((l, i): [string, string] => [`feedCard.links[${i}].title`, l.title]);
  }
}

/**
 * undefined when the robot has no keywords or one of them (case-sensitive) appears in
 * the message's visible text; otherwise an explanation for the caller's error.
 */
export function missingKeyword(body: DingTalkBody, keywords: string[]): string | undefined {
  const wanted = keywords.filter((k) => k.trim() !== '');
  if (wanted.length === 0) return undefined;
  const fields = visibleText(body);
  if (wanted.some((keyword) => fields.some(([, value]) => value.includes(keyword)))) return undefined;
  const list = wanted.map((k) => JSON.stringify(k)).join(', ');
  const where = fields.map(([field]) => field).join(', ');
  return (
    `none of the robot's keywords (${list}) appears in the ${body.msgtype} message (${where}); ` +
    'DingTalk would drop it: put a keyword into the template, or fix the channel\'s spec.keywords'
  );
}

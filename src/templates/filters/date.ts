// `date(format, timeZone)`: an instant, rendered in a time zone.
//
// Tokens (anything else is copied; wrap literal letters in [brackets]):
//   YYYY 2024   YY 24   MMMM January   MMM Jan   MM 01   M 1   DD 05   D 5
//   dddd Monday   ddd Mon   HH 09 (00-23)   H 9   hh 09 (01-12)   h 9   A AM   a am
//   mm 07   m 7   ss 03   s 3   SSS 045 (milliseconds)   Z +08:00   ZZ +0800
// Input: an ISO 8601 string, a Date, or a number (Unix seconds; milliseconds when
// 10^11 or more). Anything that is not a valid instant renders as itself (or empty),
// never an error; an unknown time zone falls back to UTC.

export const DEFAULT_DATE_FORMAT = 'YYYY-MM-DD HH:mm:ss';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const TOKENS = /\[([^\]]*)]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|m|ss|s|SSS|A|a|ZZ|Z/g;

export function dateFilter(value: unknown, format?: unknown, timeZone?: unknown): string {
  const instant = toInstant(value);
  if (instant === undefined) return value === undefined || value === null ? '' : String(value);
  const pattern = typeof format === 'string' && format !== '' ? format : DEFAULT_DATE_FORMAT;
  const zone = typeof timeZone === 'string' && isTimeZone(timeZone) ? timeZone : 'UTC';
  return formatInstant(instant, pattern, zone);
}

export function toInstant(value: unknown): number | undefined {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    ms = Math.abs(n) >= 1e11 ? n : n * 1000;
  } else if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim();
    ms = /^-?\d+(\.\d+)?$/.test(text) ? (toInstant(Number(text)) ?? NaN) : Date.parse(text);
  } else return undefined;
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : undefined;
}

const zoneCache = new Map<string, Intl.DateTimeFormat | null>();

function zoneFormat(timeZone: string): Intl.DateTimeFormat | null {
  let format = zoneCache.get(timeZone);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch {
      format = null;
    }
    // Only valid zones are remembered for good, so garbage input cannot grow the cache.
    if (format) zoneCache.set(timeZone, format);
  }
  return format;
}

/** True for an IANA time zone name this runtime knows (e.g. Asia/Shanghai). */
export function isTimeZone(timeZone: string): boolean {
  return zoneFormat(timeZone) !== null;
}

/** Offset of `timeZone` from UTC at that instant, in minutes. */
function offsetMinutes(ms: number, timeZone: string): number {
  if (timeZone === 'UTC') return 0;
  const format = zoneFormat(timeZone);
  if (!format) return 0;
  const parts: Record<string, string> = {};
  for (const part of format.formatToParts(new Date(ms))) parts[part.type] = part.value;
  let year = Number(parts.year);
  if (parts.era === 'BC') year = 1 - year;
  const local = Date.UTC(year, Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60000);
}

export function formatInstant(ms: number, pattern: string, timeZone: string): string {
  const offset = offsetMinutes(ms, timeZone);
  // A Date shifted by the offset, read with the UTC getters, shows the zone's wall clock.
  const d = new Date(ms + offset * 60000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const hours12 = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  const sign = offset < 0 ? '-' : '+';
  const offsetHM = [pad(Math.floor(Math.abs(offset) / 60)), pad(Math.abs(offset) % 60)];
  return pattern.replace(TOKENS, (token: string, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    switch (token) {
      case 'YYYY': return pad(d.getUTCFullYear(), 4);
      case 'YY': return pad(d.getUTCFullYear() % 100);
      case 'MMMM': return MONTHS[d.getUTCMonth()]!;
      case 'MMM': return MONTHS[d.getUTCMonth()]!.slice(0, 3);
      case 'MM': return pad(d.getUTCMonth() + 1);
      case 'M': return String(d.getUTCMonth() + 1);
      case 'DD': return pad(d.getUTCDate());
      case 'D': return String(d.getUTCDate());
      case 'dddd': return WEEKDAYS[d.getUTCDay()]!;
      case 'ddd': return WEEKDAYS[d.getUTCDay()]!.slice(0, 3);
      case 'HH': return pad(d.getUTCHours());
      case 'H': return String(d.getUTCHours());
      case 'hh': return pad(hours12);
      case 'h': return String(hours12);
      case 'A': return d.getUTCHours() < 12 ? 'AM' : 'PM';
      case 'a': return d.getUTCHours() < 12 ? 'am' : 'pm';
      case 'mm': return pad(d.getUTCMinutes());
      case 'm': return String(d.getUTCMinutes());
      case 'ss': return pad(d.getUTCSeconds());
      case 's': return String(d.getUTCSeconds());
      case 'SSS': return pad(d.getUTCMilliseconds(), 3);
      case 'ZZ': return `${sign}${offsetHM.join('')}`;
      case 'Z': return `${sign}${offsetHM.join(':')}`;
      default: return token;
    }
  });
}

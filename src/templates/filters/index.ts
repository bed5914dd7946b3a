// The filters herald adds to nunjucks' own.
import { dateFilter } from './date.js';
import { durationFilter } from './duration.js';
import { jsonFilter } from './json.js';
import { repoURLToHTTPS } from './repo-url.js';
import { truncateFilter } from './truncate.js';

export const heraldFilters: Readonly<Record<string, (...args: any[]) => unknown>> = {
  date: dateFilter,
  duration: durationFilter,
  json: jsonFilter,
  repoURLToHTTPS,
  truncate: truncateFilter,
};

export { dateFilter, DEFAULT_DATE_FORMAT, isTimeZone } from './date.js';
export { durationFilter, humanDuration } from './duration.js';
export { jsonFilter } from './json.js';
export { repoURLToHTTPS } from './repo-url.js';
export { truncateFilter } from './truncate.js';

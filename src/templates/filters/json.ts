// `json`: any value as JSON text, e.g. to show a commit message or a map in a code
// block. Strings come out quoted with quotes, backslashes and newlines escaped.
// Never throws: BigInts become numbers (or strings when too large), repeated
// references to an object already being encoded become "[Circular]", undefined is null.
//   {{ app.metadata.labels | json }}     {{ value | json(2) }}  (indented)

export function jsonFilter(value: unknown, indent?: unknown): string {
  const space = typeof indent === 'number' && indent > 0 ? Math.min(Math.floor(indent), 10) : undefined;
  const ancestors: object[] = [];
  const text = JSON.stringify(
    value === undefined ? null : value,
    function (this: unknown, _key, v: unknown) {
      if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      if (v instanceof Map) return Object.fromEntries(v);
      if (v instanceof Set) return [...v];
      if (v && typeof v === 'object') {
        // `this` is the object holding v: trim the ancestor stack back to it.
        while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
        if (ancestors.includes(v)) return '[Circular]';
        ancestors.push(v);
      }
      return v;
    },
    space,
  );
  // U+2028/2029 are valid JSON but end a line in JavaScript and some renderers.
  return (text ?? 'null').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

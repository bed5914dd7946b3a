// Where an offset stands in an expression, as trigger authors count: 1-based column,
// and a line only for expressions that span several lines.

export interface Position {
  /** 1-based line, only for expressions that span several lines. */
  line?: number;
  /** 1-based column (within its line). */
  column: number;
}

export function position(text: string, offset: number): Position {
  const at = Math.max(0, Math.min(offset, text.length));
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const column = at - lineStart + 1;
  if (!text.includes('\n')) return { column };
  const line = text.slice(0, at).split('\n').length;
  return { line, column };
}

/** `column 14` or `line 2, column 3` */
export function formatPosition(where: Position): string {
  return where.line === undefined ? `column ${where.column}` : `line ${where.line}, column ${where.column}`;
}

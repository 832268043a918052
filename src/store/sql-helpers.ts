/**
 * The PostgreSQL array literal of `values` (`{"a","b"}`): the text node-postgres sends for an
 * array parameter, which the `::text[]` cast reads back. Built with one join when no value holds
 * `"` or `\` (ids, emails and hashes never do); node-postgres builds it value by value with two
 * regular-expression replaces and a concatenation each, a large share of the main thread's
 * allocation in a no-change re-sync (figures in docs/benchmarks.md, "Figures behind store comments").
 */
export function textArrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  for (const v of values) {
    if (v.includes('"') || v.includes('\\')) return `{${values.map(quoteElement).join(',')}}`;
  }
  return `{"${values.join('","')}"}`;
}

/** An array element in double quotes: inside them only `"` and `\` are special. */
function quoteElement(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `items` in slices of at most `size` (a statement's share of the bind-parameter limit). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

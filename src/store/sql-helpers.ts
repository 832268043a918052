import { sql } from 'kysely';
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Capabilities } from './db.js';

/**
 * `column IN (…values)` for the dialect: `= any($1::text[])` where array parameters exist (one
 * parameter however many values), a plain IN list elsewhere (chunk under the parameter limit).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- works for any table of any query */
export function anyOf(
  eb: ExpressionBuilder<any, any>,
  caps: Capabilities,
  column: string,
  values: readonly string[],
): Expression<SqlBool> {
  return caps.arrayParams
    ? eb(eb.ref(column), '=', sql<string>`any(${[...values]}::text[])`)
    : eb(eb.ref(column), 'in', [...values]);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

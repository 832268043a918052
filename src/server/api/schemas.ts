import { z } from 'zod';

/**
 * Input pieces shared by the routes. Every string has a length limit, every object refuses unknown
 * fields (a misspelt filter is an error, not a silently wider answer), and page sizes have a ceiling.
 */

/** Text of 1 to `max` characters; never a NUL, which PostgreSQL text cannot hold. */
export function text(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !v.includes('\0'), 'must not contain a NUL character');
}

/** An id in a path or filter (district, record, account, run). */
export const idParam = text(200);

/** A free-text search or identifier value. */
export const searchText = text(200);

/** A page size: 1 to `max`, `fallback` when absent. */
export function limitParam(fallback: number, max: number) {
  return z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .describe(`page size (1–${max}, default ${fallback})`);
}

/** An opaque page cursor: the `next` of the page before. */
export const cursorParam = text(500).describe('the `next` of the page before');

export const districtParams = z.object({ district: idParam }).strict();

/**
 * The OpenAPI security of admin routes: a key with the admin scope (`adminKey`, a bearer key like
 * `apiKey`). Set beside `config: { access: 'admin' }`, which is what the key check reads.
 */
export const ADMIN_SECURITY = [{ adminKey: [] }];

/** The query of a route that takes none: any field is refused. */
export const noQuery = z.object({}).strict();

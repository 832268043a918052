import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  BROWSED_ENTITIES,
  ROSTER_PAGE_DEFAULT_LIMIT,
  ROSTER_PAGE_MAX_LIMIT,
  SCHOOL_FILTERED,
} from '../../../store/queries/roster-search.js';
import type { Store } from '../../../store/store.js';
import { notFound } from '../errors.js';
import { cursorParam, idParam, limitParam, searchText, noQuery } from '../schemas.js';
import { errorSchema, pageSchema, RECORD_VIEWS, recordView } from '../views.js';

const SINGULAR = {
  schools: 'school',
  students: 'student',
  staff: 'staff member',
  contacts: 'contact',
  sections: 'section',
} as const;

/**
 * The active roster of a district: `GET /districts/{district}/{entity}` (a page at a time, by
 * school, by name or identifier) and `GET /districts/{district}/{entity}/{id}` for schools,
 * students, staff, contacts and sections.
 */
export const rosterRoutes: FastifyPluginAsyncZod<{ store: Store }> = (app, { store }) => {
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };
  for (const entity of BROWSED_ENTITIES) {
    const views = RECORD_VIEWS[entity];
    const bySchool = (SCHOOL_FILTERED as readonly string[]).includes(entity);
    const title = entity[0]!.toUpperCase() + entity.slice(1);
    app.get(
      `/districts/:district/${entity}`,
      {
        schema: {
          tags: ['roster'],
          summary: `the district's active ${entity}, a page at a time in id order`,
          params: z.object({ district: idParam }).strict(),
          querystring: z
            .object({
              ...(bySchool
                ? { school: idParam.optional().describe('only those of this school (its id)') }
                : {}),
              q: searchText
                .optional()
                .describe(
                  entity === 'schools' || entity === 'sections'
                    ? 'an id or identifier, exactly, or words of the name'
                    : 'an id, identifier, email or username, exactly, or the starts of name parts',
                ),
              after: cursorParam.optional(),
              limit: limitParam(ROSTER_PAGE_DEFAULT_LIMIT, ROSTER_PAGE_MAX_LIMIT),
            })
            .strict(),
          response: { 200: pageSchema(views.item, `${title}Page`), ...errors },
        },
      },
      async (req) => {
        const q = req.query as { school?: string; q?: string; after?: string; limit: number };
        if (!(await store.districts.get(req.params.district)))
          throw notFound(`district ${req.params.district}`);
        const page = await store.rosterSearch.list(entity, {
          district: req.params.district,
          limit: q.limit,
          ...(q.school !== undefined ? { school: q.school } : {}),
          ...(q.q !== undefined ? { text: q.q } : {}),
          ...(q.after !== undefined ? { after: q.after } : {}),
        });
        // The view's schema cuts each record down to its listed fields when the answer is serialised.
        return { items: page.items.map(recordView), next: page.next } as never;
      },
    );

    app.get(
      `/districts/:district/${entity}/:id`,
      {
        schema: {
          querystring: noQuery,
          tags: ['roster'],
          summary: `one active ${SINGULAR[entity]} by id`,
          params: z.object({ district: idParam, id: idParam }).strict(),
          response: { 200: views.detail, ...errors },
        },
      },
      async (req) => {
        const r = await store.rosterSearch.get(entity, req.params.district, req.params.id);
        if (!r) throw notFound(`${SINGULAR[entity]} ${req.params.id}`);
        return recordView(r) as never;
      },
    );
  }
  return Promise.resolve();
};

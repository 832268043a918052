import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Store } from '../../../store/store.js';
import { idParam, limitParam } from '../schemas.js';
import { changeSchema, changeView, errorSchema } from '../views.js';

/** The account change feed, in sequence order: what `rostersync changes` prints. */
export const changeRoutes: FastifyPluginAsyncZod<{ store: Store }> = (app, { store }) => {
  app.get(
    '/changes',
    {
      schema: {
        tags: ['changes'],
        summary: 'account changes after a sequence number, in order',
        description: 'Read on by passing `next` as `after`; an empty page means caught up (for now).',
        querystring: z
          .object({
            after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
            limit: limitParam(1000, 5000),
            district: idParam.optional(),
          })
          .strict(),
        response: {
          200: z.object({
            items: z.array(changeSchema),
            next: z.number().describe('the last sequence number returned (`after` when none)'),
          }),
          400: errorSchema,
          401: errorSchema,
        },
      },
    },
    async (req) => {
      const { after, limit, district } = req.query;
      const items = await store.changeFeed.after(after, { limit, ...(district ? { district } : {}) });
      return { items: items.map(changeView), next: items[items.length - 1]?.seq ?? after };
    },
  );
  return Promise.resolve();
};

import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RUN_STATUSES } from '../../../model/run.js';
import { MAX_STORED_PROBLEMS } from '../../../store/queries/runs.js';
import type { Store } from '../../../store/store.js';
import { approveRun, rejectRun } from '../../../sync/run-control.js';
import { ApiError, notFound } from '../errors.js';
import { ADMIN_SECURITY, cursorParam, idParam, limitParam, noQuery } from '../schemas.js';
import { errorSchema, problemSchema, problemView, runSchema, runView } from '../views.js';

const PROBLEMS_SHOWN = 100;

/** A CSV field: quoted when it holds a separator, a quote or a line break; a leading formula sign is defused. */
function csvField(v: string | null): string {
  if (v === null) return '';
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** A run-list cursor: the last run's start time and id. */
function parseCursor(c: string): { startedAt: string; id: string } {
  const at = c.indexOf('|');
  if (at <= 0) throw new ApiError(400, 'invalid_request', 'query.before: not a cursor of this list');
  return { startedAt: c.slice(0, at), id: c.slice(at + 1) };
}

/** Runs: list with filters, show with counts and problems, problems as CSV, approve/reject a held run (admin). */
export const runRoutes: FastifyPluginAsyncZod<{ store: Store }> = (app, { store }) => {
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
  const runParams = z.object({ run: idParam }).strict();

  app.get(
    '/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'runs, newest first',
        querystring: z
          .object({
            district: idParam.optional(),
            status: z.enum(RUN_STATUSES).optional(),
            mode: z.enum(['sync', 'plan', 'import']).optional(),
            limit: limitParam(20, 200),
            before: cursorParam.optional(),
          })
          .strict(),
        response: {
          200: z.object({ items: z.array(runSchema), next: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const runs = await store.runs.list({
        limit: q.limit + 1,
        ...(q.district ? { district: q.district } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.mode ? { mode: q.mode } : {}),
        ...(q.before ? { before: parseCursor(q.before) } : {}),
      });
      const page = runs.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(runView),
        next: runs.length > q.limit && last ? `${last.startedAt}|${last.id}` : null,
      };
    },
  );

  app.get(
    '/runs/:run',
    {
      schema: {
        querystring: noQuery,
        tags: ['runs'],
        summary: 'one run: counts, what it holds back, and its first problems',
        params: runParams,
        response: {
          200: runSchema.extend({
            pendingArchives: z.record(z.string(), z.number()),
            problems: z
              .array(problemSchema)
              .describe(`the first ${PROBLEMS_SHOWN}; all of them: problems.csv`),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      const run = await store.runs.get(req.params.run);
      if (!run) throw notFound(`run ${req.params.run}`);
      const pending = await store.runs.pendingArchiveCounts(run.id);
      const problems = await store.runs.problems(run.id, PROBLEMS_SHOWN);
      return {
        ...runView(run),
        pendingArchives: pending,
        problems: problems.map(problemView),
      };
    },
  );

  app.get(
    '/runs/:run/problems.csv',
    {
      schema: {
        querystring: noQuery,
        tags: ['runs'],
        summary: `a run's problems as CSV (the first ${MAX_STORED_PROBLEMS} are kept per run)`,
        params: runParams,
        produces: ['text/csv'],
        response: { 200: z.string().describe('severity,entity,record_id,field,reason'), ...errors },
      },
    },
    async (req, reply) => {
      const run = await store.runs.get(req.params.run);
      if (!run) throw notFound(`run ${req.params.run}`);
      const lines = ['severity,entity,record_id,field,reason'];
      const page = 2000;
      for (let after = 0; ; after += page) {
        const problems = await store.runs.problems(run.id, page, after);
        for (const p of problems)
          lines.push([p.severity, p.entity, p.recordId, p.field, p.reason].map(csvField).join(','));
        if (problems.length < page) break;
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="run-${run.id}-problems.csv"`)
        .send(lines.join('\r\n') + '\r\n');
    },
  );

  for (const [verb, resolve] of [
    ['approve', approveRun],
    ['reject', rejectRun],
  ] as const) {
    app.post(
      `/runs/:run/${verb}`,
      {
        config: { access: 'admin' },
        schema: {
          querystring: noQuery,
          security: ADMIN_SECURITY,
          tags: ['runs'],
          summary:
            verb === 'approve'
              ? 'approve a held run: apply its archives and deactivations (admin)'
              : 'reject a held run: drop its archives and deactivations (admin)',
          description: "Only a held run that is its district's latest; 409 `conflict` otherwise.",
          params: runParams,
          response: { 200: runSchema, ...errors },
        },
      },
      async (req) => runView(await resolve(store, req.params.run)),
    );
  }
  return Promise.resolve();
};

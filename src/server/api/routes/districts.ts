import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { describeDistricts } from '../../../jobs/district-schedules.js';
import { changeDistrictSettings } from '../../../jobs/district-settings.js';
import { requestDistrictRun } from '../../../jobs/run-requests.js';
import type { DistrictServiceView } from '../../../jobs/district-schedules.js';
import type { DistrictRow } from '../../../store/queries/districts.js';
import type { Store } from '../../../store/store.js';
import { getStatus } from '../../../sync/status.js';
import { notFound } from '../errors.js';
import { ADMIN_SECURITY, districtParams, idParam, noQuery } from '../schemas.js';
import { districtDetailSchema, districtSummarySchema, errorSchema } from '../views.js';

export interface DistrictRoutesOptions {
  store: Store;
  /** Zone of schedules that name none (service.timezone). */
  timezone: string;
}

function summary(d: DistrictRow, v: DistrictServiceView | undefined): z.output<typeof districtSummarySchema> {
  return {
    id: d.id,
    name: d.name,
    cleverDistrictId: d.cleverDistrictId,
    source: v?.csvFolder ? 'csv' : 'clever',
    schedule: { cron: v?.cron ?? '', timezone: v?.timezone ?? '', nextRun: v?.nextRun ?? null },
    attention: v?.attention ?? null,
  };
}

const runRequestSchema = z
  .object({
    id: z.string(),
    district: z.string(),
    state: z.enum(['queued', 'running', 'done']),
    requestedAt: z.string(),
    runId: z.string().nullable(),
    status: z.string().nullable(),
  })
  .meta({ id: 'RunRequest' });

const settingsBody = z
  .object({
    settings: z
      .record(z.string().max(100), z.unknown())
      .optional()
      .describe('merged key by key over the stored settings (objects recursively), then validated whole'),
    schedule: z
      .object({
        cron: z.string().max(200).nullable().optional(),
        timezone: z.string().max(100).nullable().optional(),
      })
      .strict()
      .optional()
      .describe('a null part: back to the default'),
  })
  .strict();

/** Districts: list, show, change settings (admin), run now (admin), and a run request's state. */
export const districtRoutes: FastifyPluginAsyncZod<DistrictRoutesOptions> = (app, { store, timezone }) => {
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema };

  app.get(
    '/districts',
    {
      schema: {
        querystring: noQuery,
        tags: ['districts'],
        summary: 'every district with its schedule',
        response: { 200: z.object({ items: z.array(districtSummarySchema) }), ...errors },
      },
    },
    async () => {
      const views = await describeDistricts(store, timezone);
      return { items: (await store.districts.list()).map((d) => summary(d, views.get(d.id))) };
    },
  );

  const show = async (id: string) => {
    const d = await store.districts.get(id);
    if (!d) throw notFound(`district ${id}`);
    const view = (await describeDistricts(store, timezone)).get(id);
    const status = (await getStatus(store, { district: id, runs: 0 })).districts[0]!;
    return {
      ...summary(d, view),
      settings: d.config,
      hasToken: d.hasToken,
      totals: status.totals,
      accounts: status.accounts,
    };
  };

  app.get(
    '/districts/:district',
    {
      schema: {
        querystring: noQuery,
        tags: ['districts'],
        summary: 'one district: settings, schedule, totals',
        params: districtParams,
        response: { 200: districtDetailSchema, ...errors },
      },
    },
    (req) => show(req.params.district),
  );

  app.patch(
    '/districts/:district/settings',
    {
      config: { access: 'admin' },
      schema: {
        querystring: noQuery,
        security: ADMIN_SECURITY,
        tags: ['districts'],
        summary: "change a district's settings and/or schedule (admin)",
        description:
          'Validated whole before anything is saved; an invalid change answers 400 `invalid_settings` naming each field. Clears "needs attention". Districts declared in rostersync.yaml take their settings from there again on the next start.',
        params: districtParams,
        body: settingsBody,
        response: { 200: districtDetailSchema, ...errors },
      },
    },
    async (req) => {
      await changeDistrictSettings(store, req.params.district, {
        ...(req.body.settings ? { settings: req.body.settings } : {}),
        ...(req.body.schedule
          ? {
              schedule: Object.fromEntries(
                Object.entries(req.body.schedule).filter(([, v]) => v !== undefined),
              ),
            }
          : {}),
      });
      return show(req.params.district);
    },
  );

  app.post(
    '/districts/:district/runs',
    {
      config: { access: 'admin' },
      schema: {
        querystring: noQuery,
        security: ADMIN_SECURITY,
        tags: ['districts'],
        summary: 'run the district now (admin)',
        description:
          'Leaves a run request for the serving process, like `rostersync runs start`; a request already queued is returned instead of a second one. Poll `GET /run-requests/{id}`.',
        params: districtParams,
        response: { 202: runRequestSchema, ...errors },
      },
    },
    async (req, reply) => {
      const r = await requestDistrictRun(store, req.params.district);
      return reply.code(202).send(r);
    },
  );

  app.get(
    '/run-requests/:id',
    {
      schema: {
        querystring: noQuery,
        tags: ['runs'],
        summary: 'a run request (from "run now"): queued, running or done, with its run',
        params: z.object({ id: idParam }).strict(),
        response: { 200: runRequestSchema, ...errors },
      },
    },
    async (req) => {
      const r = await store.service.getRequest(req.params.id);
      if (!r) throw notFound(`run request ${req.params.id}`);
      return r;
    },
  );
  return Promise.resolve();
};

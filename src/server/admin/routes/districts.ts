import type { FastifyInstance } from 'fastify';
import {
  districtPage,
  previewSchoolFilter,
  requestRunNow,
  saveSchoolFilter,
} from '../../../jobs/admin-views/district.js';
import { RUN_STATUSES } from '../../../model/run.js';
import { idParam, list, me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** A district's page, its school filter editor and "run now". */
export function registerDistrictRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, opts, render, flashTo } = deps;

  app.get('/districts/:id', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const query = (req.query ?? {}) as Record<string, unknown>;
    const status = RUN_STATUSES.find((s) => s === query.status);
    const older = str(query.older) || undefined;
    const p = await districtPage(store, me(req), id, { timezone: opts.timezone, history: { status, older } });
    return render(req, reply, 'district', { title: p.district.name, p, canPlan: !!opts.planSchoolFilter });
  });

  app.post('/districts/:id/school-filter', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (str(body.action) === 'preview' && opts.planSchoolFilter) {
      const preview = await previewSchoolFilter(store, me(req), id, list(body.school), {
        timezone: opts.timezone,
        plan: opts.planSchoolFilter,
      });
      const p = await districtPage(store, me(req), id, { timezone: opts.timezone });
      return render(req, reply, 'district', { title: p.district.name, p, preview, canPlan: true });
    }
    const change = await saveSchoolFilter(store, me(req), id, list(body.school), { timezone: opts.timezone });
    const msg =
      change.out.length + change.in.length === 0
        ? 'School filter unchanged; a run was requested.'
        : `School filter saved: ${change.out.length} school(s) out (${change.studentsOut} students), ${change.in.length} in (${change.studentsIn} students). A run was requested; if it would deactivate too many accounts it is held for review.`;
    return flashTo(reply, `/admin/districts/${encodeURIComponent(id)}`, msg);
  });

  app.post('/districts/:id/run', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    await requestRunNow(store, me(req), id);
    return flashTo(
      reply,
      `/admin/districts/${encodeURIComponent(id)}`,
      'Run requested: it starts within a few seconds.',
    );
  });
}

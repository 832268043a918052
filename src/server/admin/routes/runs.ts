import type { FastifyInstance } from 'fastify';
import {
  approveShownRun,
  pendingCsv,
  rejectHeldRun,
  runPage,
  runProblemsCsv,
} from '../../../jobs/admin-views/run.js';
import { idParam, me, str } from './route-deps.js';
import type { RouteDeps } from './route-deps.js';

/** A run's page, its CSV downloads, and approving or rejecting a held run. */
export function registerRunRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, render, flashTo } = deps;

  app.get('/runs/:id', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const q = req.query as Record<string, unknown>;
    const p = await runPage(store, me(req), id, {
      q: str(q.q),
      severity: str(q.severity),
      ...(str(q.after) ? { after: str(q.after) } : {}),
    });
    return render(req, reply, 'run', { title: `Run ${p.run.id}`, p });
  });

  app.get('/runs/:id/problems.csv', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const q = req.query as Record<string, unknown>;
    const csv = await runProblemsCsv(store, me(req), id, { q: str(q.q), severity: str(q.severity) });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="run-${id.replace(/[^\w.-]/g, '_')}-problems.csv"`)
      .send(csv);
  });

  app.get('/runs/:id/pending.csv', async (req, reply) => {
    const { id } = idParam.parse(req.params);
    const csv = await pendingCsv(store, me(req), id);
    return reply
      .type('text/csv; charset=utf-8')
      .header(
        'content-disposition',
        `attachment; filename="run-${id.replace(/[^\w.-]/g, '_')}-deactivations.csv"`,
      )
      .send(csv);
  });

  for (const verb of ['approve', 'reject'] as const) {
    app.post(`/runs/:id/${verb}`, async (req, reply) => {
      const { id } = idParam.parse(req.params);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const done =
        verb === 'approve'
          ? await approveShownRun(store, me(req), id, str(body.expected))
          : await rejectHeldRun(store, me(req), id);
      const msg =
        verb === 'approve'
          ? `Approved by ${me(req).email}: ${done.counts.accounts.deactivated} accounts deactivated.`
          : `Rejected by ${me(req).email}: nothing was changed; the next run checks again.`;
      return flashTo(reply, `/admin/runs/${encodeURIComponent(id)}`, msg);
    });
  }
}

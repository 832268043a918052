import type { Command } from '@commander-js/extra-typings';
import { startRuns } from '../../jobs/run-requests.js';
import { approveRun, rejectRun } from '../../sync/run-control.js';
import { action, configFromFlags, withStore } from '../context.js';
import { table } from '../render.js';

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('list, inspect and resolve sync runs');

  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--district <id>', 'only this district')
    .option('--limit <n>', 'how many (default 20)', (v) => Number(v), 20)
    .option('--json', 'print JSON')
    .action(
      action(async (opts) => {
        await withStore(configFromFlags(opts), async ({ store }) => {
          const list = await store.runs.list({
            ...(opts.district ? { district: opts.district } : {}),
            limit: opts.limit,
          });
          if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
          process.stdout.write(
            table([
              ['run', 'district', 'source', 'mode', 'status', 'started', 'finished', 'problems', 'reason'],
              ...list.map((r) => [
                r.id,
                r.district,
                r.source,
                r.kind ? `${r.mode} (${r.kind.kind})` : r.mode,
                r.status,
                r.startedAt,
                r.finishedAt ?? '-',
                r.problemCount,
                r.reason ?? '',
              ]),
            ]) + '\n',
          );
        });
      }),
    );

  runs
    .command('show <runId>')
    .description('one run with its counts and problems')
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--problems <n>', 'problems to show (default 50)', (v) => Number(v), 50)
    .option('--json', 'print JSON')
    .action(
      action(async (runId, opts) => {
        return withStore(configFromFlags(opts), async ({ store }) => {
          const run = await store.runs.get(runId);
          if (!run) {
            process.stderr.write(`error: run ${runId} does not exist\n`);
            return 1;
          }
          const problems = await store.runs.problems(runId, opts.problems);
          const pending = await store.runs.pendingArchiveCounts(runId);
          if (opts.json)
            return void process.stdout.write(JSON.stringify({ ...run, pending, problems }) + '\n');
          const lines = [
            `run ${run.id}  district ${run.district}  source ${run.source}  ${run.status.toUpperCase()}${run.resolution ? ` (${run.resolution} ${run.resolvedAt ?? ''})` : ''}`,
            `started ${run.startedAt}  finished ${run.finishedAt ?? '-'}`,
          ];
          if (run.kind) lines.push(`${run.kind.kind} sync: ${run.kind.reason}`);
          if (run.reason) lines.push(`reason: ${run.reason}`);
          lines.push(
            table([
              ['', 'created', 'updated', 'unchanged', 'archived', 'restored', 'skipped'],
              ...Object.entries(run.counts.entities).map(([e, c]) => [
                e,
                c.created,
                c.updated,
                c.unchanged,
                c.archived,
                c.restored,
                c.skipped,
              ]),
            ]),
          );
          const a = run.counts.accounts;
          lines.push(
            `accounts: provisioned ${a.provisioned}, linked ${a.linked}, updated ${a.updated}, deactivated ${a.deactivated}, reactivated ${a.reactivated}, rekeyed ${a.rekeyed}, held ${a.held}, conflicts ${a.conflicts}, not provisioned ${a.notProvisioned}`,
          );
          if (Object.keys(pending).length > 0)
            lines.push(
              `pending archives: ${Object.entries(pending)
                .map(([e, n]) => `${e} ${n}`)
                .join(', ')}`,
            );
          lines.push(`problems: ${run.problemCount}`);
          for (const p of problems)
            lines.push(
              `  ${p.severity.padEnd(7)} ${p.entity} ${p.recordId ?? '-'}${p.field ? ` [${p.field}]` : ''}: ${p.reason}`,
            );
          process.stdout.write(lines.join('\n') + '\n');
        });
      }),
    );

  runs
    .command('start')
    .description(
      'ask `serve` for a run now, the way a schedule does (exit once asked; with --wait: 0 succeeded, 2 held, 1 failed)',
    )
    .option('--database <db>', 'SQLite file or postgres:// URL')
    .option('--district <id>', 'the district to run')
    .option('--all', 'every district')
    .option('--wait', 'wait for the runs to end and print how they ended')
    .action(
      action(async (opts) => {
        return withStore(configFromFlags(opts), ({ store }) =>
          startRuns(
            store,
            { district: opts.district, all: opts.all === true, wait: opts.wait === true },
            (line) => process.stdout.write(line + '\n'),
          ),
        );
      }),
    );

  for (const verb of ['approve', 'reject'] as const) {
    runs
      .command(`${verb} <runId>`)
      .description(
        verb === 'approve'
          ? "apply a held run's archives and deactivations (recomputed against the current state)"
          : "drop a held run's archives and deactivations; everything stays active",
      )
      .option('--database <db>', 'SQLite file or postgres:// URL')
      .option('--json', 'print JSON')
      .action(
        action(async (runId, opts) => {
          await withStore(configFromFlags(opts), async ({ store }) => {
            const run = verb === 'approve' ? await approveRun(store, runId) : await rejectRun(store, runId);
            if (opts.json) return void process.stdout.write(JSON.stringify(run) + '\n');
            const a = run.counts.accounts;
            const archived = Object.entries(run.counts.entities)
              .filter(([, c]) => c.archived > 0)
              .map(([e, c]) => `${e} ${c.archived}`)
              .join(', ');
            process.stdout.write(
              verb === 'approve'
                ? `run ${run.id} approved: archived ${archived || 'nothing'}; deactivated ${a.deactivated} accounts\n`
                : `run ${run.id} rejected: nothing archived or deactivated\n`,
            );
          });
        }),
      );
  }
}

import type { RunReport } from '../sync/run-report.js';
import type { Status } from '../sync/status.js';

/** Human-readable renderings for the terminal. `--json` output never goes through here. */

export function table(rows: Array<Array<string | number>>): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, String(c).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) =>
          typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function renderStatus(status: Status): string {
  const lines: string[] = [`database: ${status.database}`];
  if (status.districts.length === 0) {
    lines.push('no districts yet: run `rostersync sync …` or `rostersync import-csv DIR` to load one');
    return lines.join('\n') + '\n';
  }
  for (const d of status.districts) {
    const t = d.totals;
    lines.push(
      '',
      `district ${d.id} — ${d.name}${d.cleverDistrictId ? ` (clever ${d.cleverDistrictId})` : ''}`,
    );
    lines.push(
      table([
        ['schools', t.schools, 'students', t.students],
        ['terms', t.terms, 'staff', t.staff],
        ['courses', t.courses, '  teachers', t.staffByRole.teacher ?? 0],
        ['sections', t.sections, '  school staff', t.staffByRole.staff ?? 0],
        [
          'student enrollments',
          t.enrollments.students,
          '  district admins',
          t.staffByRole.district_admin ?? 0,
        ],
        ['teacher enrollments', t.enrollments.teachers, 'contacts', t.contacts],
      ]).replace(/^/gm, '  '),
    );
    const a = d.accounts;
    lines.push(
      `  accounts: students ${a.student.active} active / ${a.student.inactive} inactive, staff ${a.staff.active} / ${a.staff.inactive}, guardians ${a.guardian.active} / ${a.guardian.inactive}`,
    );
    if (d.events) {
      const e = d.events;
      lines.push(
        `  events: ${e.cursor ? 'cursor set' : 'no cursor'}; last full sync ${e.lastFullAt ?? 'never'}${e.lastFullRunId ? ` (run ${e.lastFullRunId})` : ''}`,
      );
    }
    const kind = d.runs.find((r) => r.kind)?.kind;
    if (kind) lines.push(`  last sync kind: ${kind.kind}: ${kind.reason}`);
    if (d.runs.length > 0) {
      lines.push('  last runs:');
      lines.push(
        table(
          d.runs.map((r) => [
            r.id,
            r.source,
            r.kind ? `${r.mode} (${r.kind.kind})` : r.mode,
            r.status,
            r.startedAt,
            r.finishedAt ?? '-',
            r.reason ?? '',
          ]),
        ).replace(/^/gm, '    '),
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function renderReport(report: RunReport): string {
  const lines: string[] = [];
  const secs = (report.durationMs / 1000).toFixed(1);
  lines.push(
    `${report.mode === 'plan' ? 'plan' : 'run'} ${report.runId}  district ${report.district ?? '-'}  source ${report.source}  ${report.status.toUpperCase()}  ${secs}s`,
  );
  if (report.kind) lines.push(`${report.kind.kind} sync: ${report.kind.reason}`);
  if (report.reason) lines.push(`reason: ${report.reason}`);
  const rows: Array<Array<string | number>> = [
    ['', 'created', 'updated', 'unchanged', 'archived', 'restored', 'skipped'],
  ];
  for (const [entity, c] of Object.entries(report.counts)) {
    rows.push([entity, c.created, c.updated, c.unchanged, c.archived, c.restored, c.skipped]);
  }
  lines.push(table(rows));
  const a = report.accounts;
  if (Object.values(a).some((n) => n > 0)) {
    lines.push(
      `accounts: provisioned ${a.provisioned}, linked ${a.linked}, updated ${a.updated}, deactivated ${a.deactivated}, reactivated ${a.reactivated}, rekeyed ${a.rekeyed}, held ${a.held}, conflicts ${a.conflicts}, not provisioned ${a.notProvisioned}`,
    );
  }
  // Runs stored before re-keys were counted have no `rekeyed`.
  const rekeyed = Object.entries(report.counts).filter(([, c]) => (c.rekeyed ?? 0) > 0);
  if (rekeyed.length > 0)
    lines.push(
      `re-keyed (same person, new source id): ${rekeyed.map(([e, c]) => `${e} ${c.rekeyed}`).join(', ')}`,
    );
  const pending = Object.entries(report.pending);
  if (pending.length > 0) {
    lines.push(`would archive once approved: ${pending.map(([e, n]) => `${e} ${n}`).join(', ')}`);
    if (report.status === 'held')
      lines.push(
        `resolve with: rostersync runs approve ${report.runId}   or   rostersync runs reject ${report.runId}`,
      );
  }
  const s = report.stats;
  // Records recognised unchanged by their bytes (not decoded), and raw hashes stored for records
  // that lacked one (see RunSyncOptions / PageOptions.known).
  const skimmed =
    (typeof s.undecoded === 'number' ? `, unchanged without decoding ${s.undecoded}` : '') +
    (typeof s.rawRefreshed === 'number' ? `, raw hashes stored ${s.rawRefreshed}` : '');
  lines.push(`requests ${s.requests}, retries ${s.retries}, pages ${s.pages}${skimmed}`);
  if (report.problemCount > 0) {
    lines.push(
      `problems: ${report.problemCount}${report.problemCount > report.problems.length ? ` (first ${report.problems.length} shown)` : ''}`,
    );
    for (const p of report.problems) {
      lines.push(
        `  ${p.severity.padEnd(7)} ${p.entity} ${p.recordId ?? '-'}${p.field ? ` [${p.field}]` : ''}: ${p.reason}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

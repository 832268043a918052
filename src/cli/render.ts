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
    if (d.runs.length > 0) {
      lines.push('  last runs:');
      lines.push(
        table(
          d.runs.map((r) => [
            r.id,
            r.source,
            r.mode,
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

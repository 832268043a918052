/**
 * The one grade vocabulary of rostersync. It follows the CEDS entry-grade codes that OneRoster uses
 * (`KG`, `PK`, `01`…`13`): short, listed below in school order, and every other vocabulary (Clever's
 * `Kindergarten`/`1`…`13`, CSV's `K`/`9`/`09`) maps onto them without loss.
 */
export const GRADES = [
  'IT', // infant/toddler
  'PR', // preschool
  'PK', // pre-kindergarten
  'TK', // transitional kindergarten
  'KG',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '07',
  '08',
  '09',
  '10',
  '11',
  '12',
  '13',
  'PS', // post-secondary / post-graduate
  'UG', // ungraded
  'Other',
] as const;

export type Grade = (typeof GRADES)[number];

const ALIASES: ReadonlyMap<string, Grade> = new Map<string, Grade>([
  // Clever's enum (§3.8 of the Clever notes)
  ['infanttoddler', 'IT'],
  ['preschool', 'PR'],
  ['prekindergarten', 'PK'],
  ['transitionalkindergarten', 'TK'],
  ['kindergarten', 'KG'],
  ['postgraduate', 'PS'],
  ['ungraded', 'UG'],
  ['other', 'Other'],
  // OneRoster / CEDS codes and common CSV spellings
  ['it', 'IT'],
  ['pr', 'PR'],
  ['pk', 'PK'],
  ['prek', 'PK'],
  ['pre-k', 'PK'],
  ['tk', 'TK'],
  ['kg', 'KG'],
  ['k', 'KG'],
  ['ps', 'PS'],
  ['ug', 'UG'],
]);

/**
 * Maps a grade from any source vocabulary to the canonical code. Returns `undefined` for blank input
 * (no grade given) and `null` for a value that is present but not a grade, so callers can tell
 * "missing" from "invalid".
 *
 * Numbers accept `0`/`00` as kindergarten, `1`…`13` with or without a leading zero, and a trailing
 * `.0` that spreadsheets add; anything else (e.g. `14`, `1.5`, `grade 3`) is invalid.
 */
export function parseGrade(input: string | null | undefined): Grade | undefined | null {
  if (input === null || input === undefined) return undefined;
  const raw = input.trim();
  if (raw === '') return undefined;
  const alias = ALIASES.get(raw.toLowerCase().replace(/[\s_]/g, ''));
  if (alias) return alias;
  const m = /^(\d{1,2})(?:\.0+)?$/.exec(raw);
  if (m?.[1] !== undefined) {
    const n = Number(m[1]);
    if (n === 0) return 'KG';
    if (n >= 1 && n <= 13) return String(n).padStart(2, '0') as Grade;
  }
  return null;
}

/** The CSV spelling (`K`, `PK`, `1`…`13`) used by `export-csv`; `parseGrade` reads it back. */
export function toCsvGrade(grade: Grade): string {
  if (grade === 'KG') return 'K';
  if (/^\d\d$/.test(grade)) return String(Number(grade));
  return grade;
}

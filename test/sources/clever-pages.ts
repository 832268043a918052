import fc from 'fast-check';

/**
 * Generated Clever list pages for property tests: objects with hostile strings (JSON escapes,
 * multi-byte and invalid UTF-8, NUL, lone surrogates, long text) and missing, wrong-typed and extra
 * fields, laid out as a list body whose items' byte ranges are known.
 */

/** Stands for an invalid UTF-8 byte: in the `utf8` encoding its bytes become 0xFF. */
const INVALID = '\ue000';

/**
 * One UTF-16 unit or character: mostly plain, often from U+0080–U+017F (where a byte read as Latin-1
 * and a character are confusable), sometimes any unit at all (lone surrogates too) or one JSON must
 * escape or UTF-8 writes in several bytes.
 */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'Z', '0', ' ', '-', '.') },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0x17f }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('"', '\\', '/', '\n', '\t', '\u2028', 'é', '王', '🎓', INVALID) },
);
const short = fc.string({ unit, maxLength: 10 });
/**
 * Text of any kind, now and then long, rarely with U+0000 (a record holding one is reported with a
 * warning and is not recognised by its bytes later: too many and every record would be).
 */
const text = fc.oneof(
  { weight: 200, arbitrary: short },
  { weight: 6, arbitrary: fc.string({ unit, minLength: 300, maxLength: 3000 }) },
  { weight: 1, arbitrary: fc.tuple(short, short).map(([a, b]) => `${a}\u0000${b}`) },
);
const key = fc.oneof(
  { weight: 10, arbitrary: short },
  fc.constantFrom('__proto__', 'id', 'ö', '', 'home\u0000room'),
);
/** Any JSON value. */
const json = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(key, tie('v'), { maxKeys: 3 }),
  ),
})).v;
/** Where a string is expected: mostly one, sometimes blank, a number, null or anything else. */
const loose = fc.oneof({ weight: 12, arbitrary: text }, fc.constantFrom('', '   ', null, 7, true), {
  weight: 1,
  arbitrary: json,
});
/** An id: mostly a realistic one with hostile text after it, sometimes anything. */
const id = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('6800', '68ü0', 'é800'), short).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: loose },
);
const ref = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('s1', 's2', 'u1') },
  { weight: 2, arbitrary: id },
);
const refs = fc.oneof(
  { weight: 6, arbitrary: fc.array(ref, { maxLength: 3 }) },
  { weight: 1, arbitrary: loose },
);
const grade = fc.oneof(
  { weight: 1, arbitrary: loose },
  {
    weight: 6,
    arbitrary: fc.constantFrom('1', '3', '12', 'K', 'Kindergarten', 'PreKindergarten', 'Ungraded', 'Other'),
  },
  fc.constantFrom('14', 'Weird'),
);
const dob = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('3/7/2012', '2012-03-07', '12/31/2009') },
  fc.constantFrom('2/30/2010', '1/1/1800'),
  loose,
);
const yn = fc.oneof(fc.constantFrom('Y', 'N', 'y', 'maybe'), loose);
const ext = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(key, json, { maxKeys: 3 }) },
  { weight: 1, arbitrary: json },
);
const location = fc.record(
  { address: loose, city: loose, state: loose, zip: loose, lat: loose, lon: loose },
  { requiredKeys: [] },
);
const personName = fc.record({ first: loose, last: loose, middle: loose }, { requiredKeys: [] });
const credentials = fc.record({ district_username: loose }, { requiredKeys: [] });

/** An object of the given fields, any of them missing, with unknown fields added. */
function object<T extends Record<string, fc.Arbitrary<unknown>>>(
  fields: T,
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(fc.record(fields, { requiredKeys: [] }), fc.dictionary(short, json, { maxKeys: 2 }))
    .map(([known, extra]) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(extra))
        if (!(k in fields))
          Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      return Object.assign(out, known);
    });
}

const student = object({
  school: ref,
  schools: refs,
  grade,
  dob,
  sis_id: loose,
  state_id: loose,
  student_number: loose,
  gender: loose,
  race: loose,
  hispanic_ethnicity: yn,
  ell_status: yn,
  iep_status: loose,
  frl_status: loose,
  home_language: loose,
  graduation_year: loose,
  legacy_id: loose,
  ext,
  location,
  credentials,
  preferred_name: personName,
  disability: object({ disability_code: loose, disability_status: yn, disability_type: loose }),
  enrollments: fc.array(object({ school: ref, start_date: loose, end_date: loose }), { maxLength: 2 }),
});
const teacher = object({
  school: ref,
  schools: refs,
  sis_id: loose,
  state_id: loose,
  teacher_number: loose,
  title: loose,
  legacy_id: loose,
  credentials,
  ext,
});
const staff = object({
  schools: refs,
  department: loose,
  staff_id: loose,
  title: loose,
  roles: refs,
  ext,
  credentials,
});
const admin = object({ title: loose, legacy_id: loose });
const contact = object({
  phone: loose,
  phone_type: loose,
  sis_id: loose,
  legacy_id: loose,
  student_relationships: fc.array(object({ student: ref, relationship: loose, type: loose }), {
    maxLength: 3,
  }),
});

export const clever = {
  text,
  user: object({
    id,
    name: personName,
    email: loose,
    created: loose,
    last_modified: loose,
    lms_status: object({ synced_in_lms: fc.oneof(fc.boolean(), loose) }),
    roles: fc.oneof(
      { weight: 4, arbitrary: fc.record({ student }) },
      { weight: 4, arbitrary: object({ teacher, staff, district_admin: admin }) },
      { weight: 3, arbitrary: fc.record({ contact }) },
      { weight: 3, arbitrary: object({ student, teacher, staff, district_admin: admin, contact }) },
      { weight: 1, arbitrary: loose },
    ),
  }),
  school: object({
    id,
    name: loose,
    low_grade: grade,
    high_grade: grade,
    sis_id: loose,
    nces_id: loose,
    phone: loose,
    school_number: loose,
    ext,
    location,
    principal: object({ name: loose, email: loose }),
  }),
  term: object({ id, name: loose, start_date: loose, end_date: loose, sis_id: loose }),
  course: object({ id, name: loose, number: loose, sis_id: loose }),
  section: object({
    id,
    school: ref,
    name: loose,
    students: refs,
    teachers: refs,
    teacher: ref,
    grade,
    course: loose,
    term_id: loose,
    subject: loose,
    period: loose,
    sis_id: loose,
    ext,
    lms_status: object({ synced_in_lms: fc.oneof(fc.boolean(), loose) }),
  }),
};

/**
 * `utf8`: as Clever sends it, non-ASCII text as UTF-8 (INVALID as an invalid byte). `escaped`: every
 * non-ASCII UTF-16 unit as a `\u` escape, so the page is ASCII but its strings are not.
 */
export type Encoding = 'utf8' | 'escaped';

export interface GeneratedPage {
  bytes: Uint8Array;
  /** Per item, its bytes: `[start, end)` of `bytes`, the whole `{"data": …}` object. */
  spans: Array<[number, number]>;
}

/** The UTF-8 bytes of `text` in `encoding`. */
function encode(text: string, encoding: Encoding): Buffer {
  if (encoding === 'escaped')
    return Buffer.from(
      text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    );
  const bytes = Buffer.from(text, 'utf8');
  const marker = Buffer.from(INVALID, 'utf8');
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, from)) {
    parts.push(bytes.subarray(from, at), Buffer.from([0xff]));
    from = at + marker.length;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

/** A Clever list body of `items` (each the `data` of one item) with a `next` link, or none. */
export function page(items: unknown[], next: string | null, encoding: Encoding = 'utf8'): GeneratedPage {
  const parts: Buffer[] = [Buffer.from('{"data":[')];
  const spans: Array<[number, number]> = [];
  let at = parts[0]!.length;
  items.forEach((data, i) => {
    if (i > 0) {
      parts.push(Buffer.from(','));
      at++;
    }
    const item = encode(JSON.stringify({ data, uri: `/v3.0/items/${i}` }), encoding);
    parts.push(item);
    spans.push([at, at + item.length]);
    at += item.length;
  });
  const links = [{ rel: 'self', uri: '/v3.0/items' }, ...(next === null ? [] : [{ rel: 'next', uri: next }])];
  parts.push(encode(`],"links":${JSON.stringify(links)}}`, encoding));
  return { bytes: new Uint8Array(Buffer.concat(parts)), spans };
}

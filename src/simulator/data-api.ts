import type { DistrictModel } from './district-model.js';
import type { EventFilter, EventLog } from './event-log.js';
import { computeTruth } from './ground-truth.js';
import { BLOCK, COLL, keyBlock } from './ids.js';
import type { CollCode } from './ids.js';
import { ArraySource, takePage } from './key-source.js';
import type { KeySource } from './key-source.js';
import { ByteWriter } from './byte-writer.js';
import {
  renderCourse,
  renderDistrict,
  renderRecord,
  renderSchool,
  renderSection,
  renderTerm,
  renderUserJson,
  sectionCourse,
} from './render.js';
import type { Json } from './render.js';
import type { Collection, Role } from './types.js';
import { ROLES } from './types.js';

// The Data API (v3.0 and v3.1 share paths; v3.1 renders its extra fields). Handlers return a
// status and a JSON body; the HTTP layer adds headers. Everything is served "as of" the district's
// current day.

export type ApiVersion = 'v3.0' | 'v3.1';

export interface UserSession {
  district: number;
  userKey: number;
  role: Role;
}

export interface ApiRequest {
  version: ApiVersion;
  segments: string[];
  params: URLSearchParams;
  /** The user behind an Instant Login token, or null for a district token. */
  user: UserSession | null;
}

export interface ApiResponse {
  status: number;
  /** JSON text; large list pages come as bytes already. */
  body: string | Buffer;
}

export const MAX_LIMIT = 10_000;
export const DEFAULT_LIMIT = 100;

const PATH_OF: Record<number, string> = {
  [COLL.district]: 'districts',
  [COLL.school]: 'schools',
  [COLL.term]: 'terms',
  [COLL.course]: 'courses',
  [COLL.section]: 'sections',
  [COLL.user]: 'users',
  [COLL.event]: 'events',
};

export function json(status: number, obj: unknown): ApiResponse {
  return { status, body: JSON.stringify(obj) };
}

export const notFound = (what = 'Resource not found'): ApiResponse => json(404, { message: what });
const badRequest = (message: string): ApiResponse => json(400, { message });

interface Paging {
  limit: number;
  after: number | null;
  before: number | null;
}

const PAGING_PARAMS = new Set(['limit', 'starting_after', 'ending_before']);

export class DataApi {
  constructor(
    private readonly m: DistrictModel,
    private readonly log: EventLog,
    /** See SimulatorOptions.events. */
    private readonly eventsEnabled = true,
  ) {}

  handle(req: ApiRequest): ApiResponse {
    const [head, id, sub, ...rest] = req.segments;
    if (rest.length > 0 || head === undefined) return notFound();
    if (req.user) return this.handleUser(req, head, id, sub);
    switch (head) {
      case 'districts':
        return this.districts(req, id, sub);
      case 'schools':
        return this.schools(req, id, sub);
      case 'users':
        return this.users(req, id, sub);
      case 'sections':
        return this.sections(req, id, sub);
      case 'terms':
        return id === undefined
          ? this.simpleList(req, COLL.term)
          : sub
            ? notFound()
            : this.single(req, COLL.term, id);
      case 'courses':
        return id === undefined
          ? this.simpleList(req, COLL.course)
          : sub
            ? notFound()
            : this.single(req, COLL.course, id);
      case 'events':
        if (!this.eventsEnabled) return json(403, { message: 'Events are not enabled for this application' });
        return sub !== undefined ? notFound() : id === undefined ? this.events(req) : this.event(req, id);
      case 'me':
        return id !== undefined ? notFound() : this.meDistrict(req);
      default:
        return notFound();
    }
  }

  // ------------------------------------------------------------------ Instant Login tokens

  private handleUser(
    req: ApiRequest,
    head: string,
    id: string | undefined,
    sub: string | undefined,
  ): ApiResponse {
    const user = req.user as UserSession;
    // Clever: user tokens cannot paginate or use limit.
    for (const p of PAGING_PARAMS)
      if (req.params.has(p)) return badRequest('Paging is not supported with user tokens');
    const v = req.version;
    const m = this.m;
    const uid = m.codec.encode(COLL.user, user.userKey);
    if (head === 'me' && id === undefined) {
      if (!m.userAlive(user.userKey, m.day)) return json(401, { message: 'User is no longer shared' });
      return json(200, {
        type: user.role,
        data: { id: uid, district: m.id, type: user.role, authorized_by: 'district' },
        links: [
          { rel: 'self', uri: `/${v}/me` },
          { rel: 'canonical', uri: `/${v}/users/${uid}` },
          { rel: 'district', uri: `/${v}/districts/${m.id}` },
        ],
      });
    }
    if (head === 'users' && id === uid && sub === undefined) return this.single(req, COLL.user, id);
    if (head === 'districts' && id === m.id && sub === undefined) return this.districts(req, id, undefined);
    return json(403, {
      message: 'Instant Login tokens may only call /me, /users/{own id} and /districts/{own district}',
    });
  }

  private meDistrict(req: ApiRequest): ApiResponse {
    const m = this.m;
    return json(200, {
      type: 'district',
      data: { id: m.id, district: m.id, type: 'district' },
      links: [
        { rel: 'self', uri: `/${req.version}/me` },
        { rel: 'canonical', uri: `/${req.version}/districts/${m.id}` },
        { rel: 'district', uri: `/${req.version}/districts/${m.id}` },
      ],
    });
  }

  // ------------------------------------------------------------------ helpers

  private path(req: ApiRequest): string {
    return `/${req.version}/${req.segments.join('/')}`;
  }

  private selfUri(req: ApiRequest): string {
    const q = req.params.toString();
    return q ? `${this.path(req)}?${q}` : this.path(req);
  }

  private cursorUri(req: ApiRequest, name: 'starting_after' | 'ending_before', id: string): string {
    const p = new URLSearchParams();
    for (const [k, val] of req.params) if (k !== 'starting_after' && k !== 'ending_before') p.append(k, val);
    p.append(name, id);
    return `${this.path(req)}?${p.toString()}`;
  }

  private paging(req: ApiRequest, coll: CollCode): Paging | ApiResponse {
    const p = req.params;
    let limit = DEFAULT_LIMIT;
    const raw = p.get('limit');
    if (raw !== null) {
      if (!/^\d+$/.test(raw) || Number(raw) <= 0) return badRequest(`invalid limit ${JSON.stringify(raw)}`);
      limit = Number(raw);
      if (limit > MAX_LIMIT) return json(413, { message: `limit may not be over ${MAX_LIMIT}` });
    }
    const sa = p.get('starting_after');
    const eb = p.get('ending_before');
    if (sa !== null && eb !== null) return badRequest('use only one of starting_after and ending_before');
    let after: number | null = null;
    let before: number | null = null;
    if (sa !== null) {
      after = this.m.codec.decode(coll, sa);
      if (after === null) return badRequest(`invalid starting_after ${JSON.stringify(sa)}`);
    }
    if (eb !== null) {
      before = coll === COLL.event && eb === 'last' ? Number.MAX_SAFE_INTEGER : this.m.codec.decode(coll, eb);
      if (before === null) return badRequest(`invalid ending_before ${JSON.stringify(eb)}`);
    }
    return { limit, after, before };
  }

  /** A paged list of `coll` records from `src`, rendered with `render` (objects) or `renderJson` (text). */
  private list(
    req: ApiRequest,
    src: KeySource,
    coll: CollCode,
    render: (key: number) => Json | null,
    renderJson?: (key: number) => string | null,
  ): ApiResponse {
    const pg = this.paging(req, coll);
    if ('status' in pg) return pg;
    const page = takePage(src, pg.limit, pg.after, pg.before);
    const uriPrefix = `,"uri":"/${req.version}/${PATH_OF[coll] ?? ''}/`;
    const m = this.m;
    const v31 = req.version === 'v3.1';
    const toJson =
      renderJson ??
      (coll === COLL.user
        ? (k: number): string | null => renderUserJson(m, k, m.day, v31)
        : (k: number): string | null => {
            const obj = render(k);
            return obj ? JSON.stringify(obj) : null;
          });
    const out = new ByteWriter(Math.min(16 << 20, 1024 + page.keys.length * 1200));
    out.write('{"data":[');
    let firstId: string | null = null;
    let lastId: string | null = null;
    for (const key of page.keys) {
      const text = toJson(key);
      if (text === null) continue;
      const id = m.codec.encode(coll, key);
      out.write(firstId === null ? '{"data":' : ',{"data":');
      firstId ??= id;
      lastId = id;
      out.write(text);
      out.write(`${uriPrefix}${id}"}`);
    }
    const links: Array<{ rel: string; uri: string }> = [{ rel: 'self', uri: this.selfUri(req) }];
    if (page.hasNext && lastId)
      links.push({ rel: 'next', uri: this.cursorUri(req, 'starting_after', lastId) });
    if (page.hasPrev && firstId)
      links.push({ rel: 'prev', uri: this.cursorUri(req, 'ending_before', firstId) });
    out.write(`],"links":${JSON.stringify(links)}}`);
    return { status: 200, body: out.bytes() };
  }

  private countOr(req: ApiRequest, count: () => number): ApiResponse | null {
    if (req.params.get('count') !== 'true') return null;
    // Clever: count ignores the other parameters and counts every object of the type.
    return json(200, { count: count(), links: [{ rel: 'self', uri: this.selfUri(req) }] });
  }

  private renderer(req: ApiRequest, coll: CollCode): (key: number) => Json | null {
    const m = this.m;
    const v31 = req.version === 'v3.1';
    return (key) => renderRecord(m, coll, key, m.day, v31);
  }

  private single(req: ApiRequest, coll: CollCode, id: string): ApiResponse {
    const key = this.m.codec.decode(coll, id);
    if (key === null) return notFound();
    const obj = this.renderer(req, coll)(key);
    if (!obj) return notFound();
    return json(200, { data: obj, links: [{ rel: 'self', uri: this.path(req) }] });
  }

  private singleKey(req: ApiRequest, coll: CollCode, key: number): ApiResponse {
    const obj = this.renderer(req, coll)(key);
    if (!obj) return notFound();
    const id = obj.id as string;
    return json(200, {
      data: obj,
      links: [{ rel: 'self', uri: `/${req.version}/${PATH_OF[coll] ?? ''}/${id}` }],
    });
  }

  private district(req: ApiRequest): ApiResponse {
    return json(200, {
      data: renderDistrict(this.m, req.version === 'v3.1'),
      links: [{ rel: 'self', uri: `/${req.version}/districts/${this.m.id}` }],
    });
  }

  // ------------------------------------------------------------------ districts

  private districts(req: ApiRequest, id: string | undefined, sub: string | undefined): ApiResponse {
    const m = this.m;
    if (id === undefined) {
      const c = this.countOr(req, () => 1);
      if (c) return c;
      const d = renderDistrict(m, req.version === 'v3.1');
      return {
        status: 200,
        body: `{"data":[{"data":${JSON.stringify(d)},"uri":"/${req.version}/districts/${m.id}"}],"links":${JSON.stringify([{ rel: 'self', uri: this.selfUri(req) }])}}`,
      };
    }
    if (id !== m.id || sub !== undefined) return notFound();
    return this.district(req);
  }

  // ------------------------------------------------------------------ schools

  /** Index of a served school (a school's key is its index), or -1. */
  private schoolIndex(id: string): number {
    const m = this.m;
    const key = m.codec.decode(COLL.school, id);
    if (key === null || !renderSchool(m, key, m.day)) return -1;
    return key;
  }

  private schools(req: ApiRequest, id: string | undefined, sub: string | undefined): ApiResponse {
    const m = this.m;
    const D = m.day;
    if (id === undefined) {
      const c = this.countOr(req, () => computeTruth(m).schools);
      if (c) return c;
      const keys = m.sharedSchools(D).map((s) => m.schoolKey(s));
      return this.list(req, new ArraySource(keys), COLL.school, (k) => renderSchool(m, k, D));
    }
    const s = this.schoolIndex(id);
    if (s < 0) return notFound();
    switch (sub) {
      case undefined:
        return this.singleKey(req, COLL.school, m.schoolKey(s));
      case 'users': {
        const role = req.params.get('role');
        if (role !== null && role !== '' && role !== 'student' && role !== 'teacher' && role !== 'staff')
          return badRequest(`invalid role ${JSON.stringify(role)}`);
        const primary = req.params.get('primary');
        if (primary !== null && primary !== '' && primary !== 'true')
          return badRequest('primary must be "" or "true"');
        return this.list(
          req,
          m.schoolUsersSource(s, role ? role : null, D),
          COLL.user,
          this.renderer(req, COLL.user),
        );
      }
      case 'sections':
        return this.list(req, m.sectionsSource(D, s), COLL.section, this.renderer(req, COLL.section));
      case 'terms': {
        const keys = Array.from({ length: m.shape.terms }, (_, i) => m.termKey(m.yearAt(D), i));
        return this.list(req, new ArraySource(keys), COLL.term, (k) => renderTerm(m, k, D));
      }
      case 'courses': {
        const school = m.school(s);
        const idx = new Set<number>();
        for (let t = school.teacherStart; t < school.teacherStart + school.teacherCount; t++) {
          for (let p = 0; p < m.periods; p++) idx.add(sectionCourse(m, t, p));
        }
        const keys = [...idx].sort((a, b) => a - b).map((i) => m.courseKey(i));
        return this.list(req, new ArraySource(keys), COLL.course, (k) => renderCourse(m, k));
      }
      case 'district':
        return this.district(req);
      default:
        return notFound();
    }
  }

  // ------------------------------------------------------------------ users

  private users(req: ApiRequest, id: string | undefined, sub: string | undefined): ApiResponse {
    const m = this.m;
    const D = m.day;
    const render = this.renderer(req, COLL.user);
    if (id === undefined) {
      const role = req.params.get('role');
      if (role !== null && role !== '' && !ROLES.includes(role as Role))
        return badRequest(`invalid role ${JSON.stringify(role)}`);
      const c = this.countOr(req, () => {
        const t = computeTruth(m);
        return t.students + t.contacts + t.staffPeople;
      });
      if (c) return c;
      return this.list(req, m.usersSource(role ? (role as Role) : null, D), COLL.user, render);
    }
    const served = m.codec.decode(COLL.user, id);
    if (served === null || !m.userAlive(served, D)) return notFound();
    // A re-keyed person's relations are those of its first key; the users listed are served under their latest.
    const key = m.personOf(served);
    const block = keyBlock(key);
    const t = m.teacherIndexOf(key);
    const servedList = (keys: number[]): ArraySource =>
      new ArraySource(keys.map((k) => m.servedKey(k, D)).sort((a, b) => a - b));
    switch (sub) {
      case undefined:
        return this.singleKey(req, COLL.user, served);
      case 'sections': {
        const secs =
          block === BLOCK.student ? m.studentSections(key, D) : t >= 0 ? m.teacherSections(t, D) : [];
        return this.list(req, new ArraySource(secs), COLL.section, this.renderer(req, COLL.section));
      }
      case 'mycontacts': {
        const cs = block === BLOCK.student ? m.studentContacts(key).filter((c) => m.contactAlive(c, D)) : [];
        return this.list(req, servedList(cs), COLL.user, render);
      }
      case 'mystudents': {
        let students: number[] = [];
        if (block === BLOCK.contact)
          students = (m.contactStudents(key) ?? []).filter((s) => m.studentAlive(s, D));
        else if (t >= 0) {
          const set = new Set<number>();
          for (const sec of m.teacherSections(t, D)) for (const s of m.sectionStudents(sec, D)) set.add(s);
          students = [...set].sort((a, b) => a - b);
        }
        return this.list(req, servedList(students), COLL.user, render);
      }
      case 'myteachers': {
        const set = new Set<number>();
        if (block === BLOCK.student) {
          for (const sec of m.studentSections(key, D))
            for (const tt of m.sectionTeachers(sec, D)) set.add(m.teacherKey(tt));
        }
        return this.list(req, servedList([...set]), COLL.user, render);
      }
      case 'schools': {
        const obj = render(served);
        const ids = new Set<string>();
        for (const r of Object.values((obj?.roles ?? {}) as Record<string, Json>)) {
          if (Array.isArray(r.schools)) for (const s of r.schools as string[]) ids.add(s);
        }
        const keys = [...ids].map((s) => m.codec.decode(COLL.school, s) ?? -1).filter((k) => k >= 0);
        return this.list(req, new ArraySource(keys.sort((a, b) => a - b)), COLL.school, (k) =>
          renderSchool(m, k, D),
        );
      }
      case 'district':
        return this.district(req);
      default:
        return notFound();
    }
  }

  // ------------------------------------------------------------------ sections

  private sections(req: ApiRequest, id: string | undefined, sub: string | undefined): ApiResponse {
    const m = this.m;
    const D = m.day;
    if (id === undefined) {
      const c = this.countOr(req, () => computeTruth(m).sections);
      if (c) return c;
      return this.list(req, m.sectionsSource(D, null), COLL.section, this.renderer(req, COLL.section));
    }
    const key = m.codec.decode(COLL.section, id);
    if (key === null || !m.sectionServed(key, D)) return notFound();
    switch (sub) {
      case undefined:
        return this.singleKey(req, COLL.section, key);
      case 'users': {
        const role = req.params.get('role');
        if (role !== null && role !== '' && role !== 'student' && role !== 'teacher')
          return badRequest(`invalid role ${JSON.stringify(role)}`);
        const keys: number[] = [];
        if (role !== 'student') for (const t of m.sectionTeachers(key, D)) keys.push(m.teacherKey(t));
        if (role !== 'teacher') keys.push(...m.sectionStudents(key, D));
        return this.list(
          req,
          new ArraySource(keys.map((k) => m.servedKey(k, D)).sort((a, b) => a - b)),
          COLL.user,
          this.renderer(req, COLL.user),
        );
      }
      case 'school':
      case 'term':
      case 'course': {
        const obj = renderSection(m, key, D, false);
        const ref = obj?.[sub === 'term' ? 'term_id' : sub];
        if (typeof ref !== 'string') return notFound();
        const coll = sub === 'school' ? COLL.school : sub === 'term' ? COLL.term : COLL.course;
        const k = m.codec.decode(coll, ref);
        return k === null ? notFound() : this.singleKey(req, coll, k);
      }
      case 'district':
        return this.district(req);
      default:
        return notFound();
    }
  }

  // ------------------------------------------------------------------ terms, courses

  private simpleList(req: ApiRequest, coll: CollCode): ApiResponse {
    const m = this.m;
    const D = m.day;
    if (coll === COLL.term) {
      const c = this.countOr(req, () => m.shape.terms);
      if (c) return c;
      const keys = Array.from({ length: m.shape.terms }, (_, i) => m.termKey(m.yearAt(D), i));
      return this.list(req, new ArraySource(keys), coll, (k) => renderTerm(m, k, D));
    }
    const c = this.countOr(req, () => m.shape.courses);
    if (c) return c;
    const keys = Array.from({ length: m.shape.courses }, (_, i) => m.courseKey(i));
    return this.list(req, new ArraySource(keys), coll, (k) => renderCourse(m, k));
  }

  // ------------------------------------------------------------------ events

  private events(req: ApiRequest): ApiResponse {
    const m = this.m;
    const types = req.params
      .getAll('record_type')
      .flatMap((t) => t.split(','))
      .filter((t) => t !== '');
    const known: Collection[] = ['schools', 'users', 'sections', 'terms', 'courses'];
    for (const t of types)
      if (!known.includes(t as Collection) && t !== 'districts')
        return badRequest(`invalid record_type ${JSON.stringify(t)}`);
    const schoolId = req.params.get('school');
    let school: number | null = null;
    if (schoolId !== null && schoolId !== '') {
      const k = m.codec.decode(COLL.school, schoolId);
      if (k === null || k >= m.layout.schools.length)
        return badRequest(`invalid school ${JSON.stringify(schoolId)}`);
      school = k;
    }
    const filter: EventFilter = {
      recordTypes: types.length > 0 ? new Set(types as Collection[]) : null,
      school,
    };
    const v31 = req.version === 'v3.1';
    return this.list(req, this.log.source(m, filter), COLL.event, (k) => this.log.render(m, k, v31));
  }

  private event(req: ApiRequest, id: string): ApiResponse {
    const m = this.m;
    const key = m.codec.decode(COLL.event, id);
    if (key === null) return notFound();
    const ev = this.log.render(m, key, req.version === 'v3.1');
    if (!ev) return notFound();
    return json(200, { data: ev, links: [{ rel: 'self', uri: this.path(req) }] });
  }
}

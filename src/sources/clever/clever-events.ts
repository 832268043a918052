import { createHash } from 'node:crypto';
import type { Entity } from '../../model/entities.js';
import type { RunProblem } from '../../model/run.js';
import { isRostersyncError } from '../../shared/errors.js';
import type { EventFeed, EventPage, SourceRecord } from '../source.js';
import { CleverMapper } from './decode/clever-mapper.js';
import type { CleverClient } from './http/clever-client.js';

type Obj = Record<string, unknown>;

/** The user entities a Clever user can be stored as (one record per entity it maps to). */
const USER_ENTITIES = ['students', 'staff', 'contacts'] as const;

const SIMPLE: Record<string, 'schools' | 'terms' | 'courses' | 'sections'> = {
  schools: 'schools',
  terms: 'terms',
  courses: 'courses',
  sections: 'sections',
};

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/**
 * Clever's Events API as an EventFeed: `/events?starting_after=` pages, oldest first, each event
 * mapped by the same CleverMapper as a full walk, so that a record reaches the store with the same
 * canonical data and hash whichever way it came. Bodies are parsed on the main thread: a night's
 * events are a small share of a district.
 */
export class CleverEventFeed implements EventFeed {
  readonly stamp: string;
  private readonly mapper = new CleverMapper();

  constructor(
    private readonly client: CleverClient,
    token: string,
    /** Events per page (1–10000). */
    private readonly pageSize: number,
  ) {
    this.stamp = createHash('sha256').update(`rostersync-events\u0000${token}`).digest('hex').slice(0, 32);
  }

  async newest(): Promise<string> {
    // `ending_before=last&limit=1` is the newest event (Clever's own client tests use this idiom).
    const page = await this.client.listPage('/events?ending_before=last&limit=1');
    const id = page.items[0]?.id;
    return typeof id === 'string' ? id : '';
  }

  async has(id: string): Promise<boolean> {
    try {
      await this.client.getJson(`/events/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (isRostersyncError(err, 'not_found')) return false;
      throw err;
    }
  }

  async *pages(cursor: string): AsyncIterable<EventPage> {
    for await (const page of this.client.walk('/events', {
      limit: this.pageSize,
      startingAfter: cursor === '' ? null : cursor,
    })) {
      const out: EventPage = { changes: [], problems: [], cursor, events: 0 };
      for (const ev of page.items) {
        out.events++;
        const id = typeof ev.id === 'string' ? ev.id : null;
        if (id === null) {
          out.problems.push(eventProblem(null, 'id', 'event has no id; skipped'));
          continue;
        }
        out.cursor = id;
        this.mapEvent(id, ev, out);
      }
      if (out.events > 0) yield out;
    }
  }

  async schools(): Promise<{ records: SourceRecord[]; invalidIds: string[] }> {
    const records: SourceRecord[] = [];
    const invalidIds: string[] = [];
    for await (const page of this.client.walk('/schools', { limit: this.pageSize })) {
      for (const raw of page.items) {
        const r = this.mapper.mapSchool(raw);
        if (r.ok) records.push({ entity: 'schools', sourceId: r.id!, data: r.data });
        else if (r.problem.recordId) invalidIds.push(r.problem.recordId);
      }
    }
    return { records, invalidIds };
  }

  private mapEvent(id: string, ev: Obj, out: EventPage): void {
    const type = typeof ev.type === 'string' ? ev.type : '';
    const dot = type.lastIndexOf('.');
    const collection = type.slice(0, dot);
    const action = type.slice(dot + 1);
    const data = obj(ev.data);
    const object = obj(data?.object);
    if (dot < 0 || !['created', 'updated', 'deleted'].includes(action)) {
      out.problems.push(eventProblem(id, 'type', `event type "${type}" is not known; skipped`));
      return;
    }
    const known = collection === 'users' || collection === 'districts' || collection in SIMPLE;
    if (!known) {
      out.problems.push(eventProblem(id, 'type', `event type "${type}" is not synced; skipped`));
      return;
    }
    if (!object) {
      out.problems.push(eventProblem(id, 'data.object', `${type} event has no object; skipped`));
      return;
    }
    if (collection === 'districts') {
      if (action === 'deleted')
        out.problems.push(
          eventProblem(id, 'type', 'districts.deleted: the district stays; a full sync decides'),
        );
      else out.changes.push({ kind: 'district', data: this.mapper.mapDistrict(object) });
      return;
    }
    const recordId = typeof object.id === 'string' && object.id !== '' ? object.id : null;
    if (recordId === null) {
      out.problems.push(eventProblem(id, 'data.object.id', `${type} event's object has no id; skipped`));
      return;
    }
    if (collection === 'users') return this.mapUserEvent(id, action, ev, data!, object, recordId, out);
    const entity = SIMPLE[collection]!;
    if (action === 'deleted') {
      out.changes.push({ kind: 'delete', entity, sourceId: recordId });
      return;
    }
    const r =
      entity === 'schools'
        ? this.mapper.mapSchool(object)
        : entity === 'terms'
          ? this.mapper.mapTerm(object)
          : entity === 'courses'
            ? this.mapper.mapCourse(object)
            : this.mapper.mapSection(object);
    if (!r.ok) {
      out.problems.push(r.problem);
      return;
    }
    out.problems.push(...r.warnings);
    const record: SourceRecord = { entity, sourceId: recordId, data: r.data };
    const previous = action === 'updated' ? previousAttributes(ev, data!) : null;
    if (entity === 'sections' && previous !== null) {
      out.changes.push({ kind: 'upsert', record, newMembers: addedMembers(object, previous) });
    } else out.changes.push({ kind: 'upsert', record });
  }

  /**
   * A user maps to one record per entity it is (a student, a contact, and/or one staff person for
   * its teacher, staff and district admin roles). Its other user entities are deleted: a user who
   * lost a role leaves that entity, as a full walk would no longer list it there. A created user, and
   * an update whose previous attributes show its roles unchanged, need no such deletes.
   */
  private mapUserEvent(
    id: string,
    action: string,
    ev: Obj,
    data: Obj,
    object: Obj,
    recordId: string,
    out: EventPage,
  ): void {
    if (action === 'deleted') {
      for (const entity of USER_ENTITIES) out.changes.push({ kind: 'delete', entity, sourceId: recordId });
      return;
    }
    const mapped = this.mapper.mapUser(object);
    out.problems.push(...mapped.warnings.map((w) => relabel(w, mapped.records[0]?.entity)));
    if (mapped.problem) {
      out.problems.push(relabel(mapped.problem, undefined));
      void id;
      return;
    }
    const previous = previousAttributes(ev, data);
    // A created user is new under its id: nothing of it is stored as another entity.
    const rolesKept = action === 'created' || (previous !== null && !('roles' in previous));
    const now = new Set<Entity>(mapped.records.map((r) => r.entity));
    if (!rolesKept) {
      for (const entity of USER_ENTITIES)
        if (!now.has(entity)) out.changes.push({ kind: 'delete', entity, sourceId: recordId });
    }
    for (const r of mapped.records)
      out.changes.push({
        kind: 'upsert',
        record: { entity: r.entity, sourceId: r.id, data: r.data },
      });
  }
}

/**
 * An updated event's previous attributes: inside the event's `data` next to `object` in every
 * recorded payload, beside `data` on the event in Clever's v3 spec; null when neither has them.
 */
export function previousAttributes(ev: Obj, data: Obj): Obj | null {
  return obj(data.previous_attributes) ?? obj(ev.previous_attributes) ?? null;
}

/** Members of a section that an update added: those of `students`/`teachers` not there before. */
function addedMembers(object: Obj, previous: Obj): string[] {
  const added: string[] = [];
  for (const key of ['students', 'teachers', 'teacher'] as const) {
    if (!(key in previous)) continue;
    const before = new Set(ids(previous[key]));
    for (const id of ids(object[key])) if (!before.has(id)) added.push(id);
  }
  return added;
}

function ids(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function eventProblem(eventId: string | null, field: string, reason: string): RunProblem {
  return { severity: 'warning', entity: 'events', recordId: eventId, field, reason };
}

/** User problems are reported under the entity the user maps to, when known. */
function relabel(p: RunProblem, entity: Entity | undefined): RunProblem {
  return p.entity === 'users' && entity ? { ...p, entity } : p;
}

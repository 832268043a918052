import { COLL, dayStamp, isoAt, keyDay, keyIndex, makeKey } from './ids.js';
import type { CollCode } from './ids.js';
import type { DistrictModel } from './district-model.js';
import { ConcatSource, RangeSource } from './key-source.js';
import type { KeySource } from './key-source.js';
import { renderRecord } from './render.js';
import type { Json } from './render.js';
import type { Collection } from './types.js';

// The events feed. An event is stored as 9 bytes (its record key and a type code) and rendered on
// request from the district model "as of" its day: the object of a created/updated event is the
// record at the end of that day, a deleted event shows the last state before it, and
// previous_attributes is the top-level diff of the two. A rollover in a million-student district
// therefore costs a few MB of event storage instead of gigabytes of JSON.

/** Days of events kept; events of older days drop off the start of the feed. */
export const EVENT_RETENTION_DAYS = 30;

export const ACTION = { created: 0, updated: 1, deleted: 2 } as const;
export type Action = (typeof ACTION)[keyof typeof ACTION];
const ACTION_NAMES = ['created', 'updated', 'deleted'] as const;

export const COLL_OF: Record<Collection, CollCode> = {
  schools: COLL.school,
  terms: COLL.term,
  courses: COLL.course,
  users: COLL.user,
  sections: COLL.section,
};
const NAME_OF = new Map<number, Collection>(Object.entries(COLL_OF).map(([k, v]) => [v, k as Collection]));

export function eventCode(coll: CollCode, action: Action): number {
  return coll * 4 + action;
}

interface EventDay {
  day: number;
  keys: Float64Array;
  codes: Uint8Array;
}

export interface EventFilter {
  recordTypes: ReadonlySet<Collection> | null;
  /** School index; only events whose object belongs to that school. */
  school: number | null;
}

export class EventLog {
  private days: EventDay[] = [];

  append(day: number, keys: Float64Array, codes: Uint8Array): void {
    if (keys.length === 0) return;
    this.days.push({ day, keys, codes });
  }

  /** Drops the days that fell out of the retention window at `currentDay`. */
  prune(currentDay: number): void {
    while (this.days.length > 0 && currentDay - (this.days[0] as EventDay).day >= EVENT_RETENTION_DAYS)
      this.days.shift();
  }

  private find(key: number): { entry: EventDay; seq: number } | null {
    const day = keyDay(key);
    const entry = this.days.find((d) => d.day === day);
    const seq = keyIndex(key);
    if (!entry || seq >= entry.keys.length || key !== makeKey(day, 0, seq)) return null;
    return { entry, seq };
  }

  has(key: number): boolean {
    return this.find(key) !== null;
  }

  size(): number {
    let n = 0;
    for (const d of this.days) n += d.keys.length;
    return n;
  }

  source(m: DistrictModel, filter: EventFilter): KeySource {
    const parts = this.days.map((d) => {
      const accept =
        filter.recordTypes === null && filter.school === null
          ? undefined
          : (seq: number): boolean => {
              const code = d.codes[seq] as number;
              if (filter.recordTypes !== null) {
                const name = NAME_OF.get(code >> 2);
                if (!name || !filter.recordTypes.has(name)) return false;
              }
              if (filter.school !== null) return this.belongsToSchool(m, d, seq, filter.school);
              return true;
            };
      return new RangeSource(makeKey(d.day, 0, 0), 0, d.keys.length, accept);
    });
    return new ConcatSource(parts);
  }

  private belongsToSchool(m: DistrictModel, d: EventDay, seq: number, school: number): boolean {
    const code = d.codes[seq] as number;
    const coll = (code >> 2) as CollCode;
    const action = (code & 3) as Action;
    const obj = renderRecord(
      m,
      coll,
      d.keys[seq] as number,
      action === ACTION.deleted ? d.day - 1 : d.day,
      false,
    );
    if (!obj) return false;
    const sid = m.codec.encode(COLL.school, m.schoolKey(school));
    if (coll === COLL.school) return obj.id === sid;
    if (obj.school === sid) return true;
    const roles = obj.roles as Record<string, Json> | undefined;
    if (roles) {
      for (const r of Object.values(roles)) {
        if (r.school === sid || (Array.isArray(r.schools) && r.schools.includes(sid))) return true;
      }
    }
    return false;
  }

  /** The v3 event object, or null if the id is unknown or expired. */
  render(m: DistrictModel, key: number, v31: boolean): Json | null {
    const f = this.find(key);
    if (!f) return null;
    const { entry, seq } = f;
    const code = entry.codes[seq] as number;
    const coll = (code >> 2) as CollCode;
    const action = (code & 3) as Action;
    const recKey = entry.keys[seq] as number;
    const day = entry.day;
    const after = action === ACTION.deleted ? null : renderRecord(m, coll, recKey, day, v31);
    const before = action === ACTION.created ? null : renderRecord(m, coll, recKey, day - 1, v31);
    const object = after ?? before;
    const data: Json = { object };
    if (action === ACTION.updated && before && after) {
      const prev: Json = {};
      for (const k of Object.keys(before)) {
        if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) prev[k] = before[k];
      }
      for (const k of Object.keys(after)) if (!(k in before)) prev[k] = null;
      data.previous_attributes = prev;
    }
    return {
      id: m.codec.encode(COLL.event, key),
      type: `${NAME_OF.get(coll) ?? 'unknown'}.${ACTION_NAMES[action]}`,
      created: isoAt(dayStamp(day) + seq),
      data,
    };
  }
}

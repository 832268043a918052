import type { Entity, EntityData } from '../model/entities.js';
import type { RunProblem } from '../model/run.js';
import type { EventFeed, EventPage, SourceRecord, SourceStream } from '../sources/source.js';
import { applyBatch } from './apply-batch.js';
import { normalise, reconcile } from './reconcile.js';
import { settleWaitingClaims } from './rekeys.js';
import type { NormalizedRecord } from './reconcile.js';
import type { RunContext } from './run-context.js';

/**
 * The order a page's changes are applied in: what filters depend on first (schools, then the
 * students contacts are kept for), as the streams of a full sync are read.
 */
const APPLY_ORDER: readonly Entity[] = [
  'schools',
  'terms',
  'courses',
  'students',
  'staff',
  'sections',
  'contacts',
];

/** The pseudo-stream an events sync's batches belong to (its checkpoint row is `events`). */
const EVENTS_STREAM: SourceStream = {
  name: 'events',
  entities: [...APPLY_ORDER],
  ordered: false,
  dependsOn: [],
  pages: async function* () {},
};

/** The last change of one record on a page: its record, or null when it is to be deleted. */
type Last = Map<string, SourceRecord | null>;

/**
 * Reads an event feed after a cursor and applies it page by page through the same parts as a full
 * sync: the school filter, normalise and reconcile, applyBatch (records, accounts, problems, one
 * transaction per entity of a page) and, at the end of the run, the safety valve (deletes are the
 * run's pending archives, as absences are in a full sync). The page's cursor is committed in the
 * transaction of its last batch: a crash replays at most one page, and replaying is harmless
 * because a page only ever sets a record to the state of its last event.
 *
 * Within a page only the last change of each record counts (its events are in order, and each
 * carries the whole record), and entities are applied in dependency order. A plan reads the whole
 * feed as one page: its transactions are rolled back, so a later page could not see an earlier one's
 * writes.
 */
export class EventPipeline {
  /** Entities this run holds pending archives of: an upsert of one of their ids takes it back. */
  private readonly pending = new Set<Entity>();

  constructor(private readonly run: RunContext) {}

  async read(feed: EventFeed, cursor: string): Promise<void> {
    const t = Date.now();
    const run = this.run;
    // The school filter needs every school the district shares, in scope or not, as a full sync's
    // schools stream gives it. The list as it is now, not as it was at each event: what the events
    // converge to is the state now.
    const schools = await feed.schools();
    for (const id of schools.invalidIds) run.scope.addKnownId(id);
    for (const r of schools.records) run.scope.addSchool(r.sourceId, r.data as EntityData['schools']);
    run.stats.timings.schools = Date.now() - t;
    // Removals a stopped events sync queued and this run took over (see takeOverInterrupted).
    if (run.ledger.keeps) {
      for (const [entity, n] of Object.entries(await run.store.runs.pendingArchiveCounts(run.runId))) {
        if (!n) continue;
        this.pending.add(entity as Entity);
        run.ledger.notePendingArchives(entity as Entity);
      }
    }

    let pages = 0;
    let events = 0;
    let merged: EventPage | null = null;
    for await (const page of feed.pages(cursor)) {
      if (run.failure) break;
      pages++;
      events += page.events;
      run.stats.pages++;
      if (!run.ledger.keeps) {
        merged ??= { changes: [], problems: [], cursor, events: 0 };
        for (const c of page.changes) merged.changes.push(c);
        for (const p of page.problems) merged.problems.push(p);
        merged.cursor = page.cursor;
        merged.events += page.events;
      } else await this.applyPage(page, { pages, records: events });
      run.onProgress?.({ stream: 'events', pages, records: events, done: false });
    }
    if (merged && !run.failure) await this.applyPage(merged, { pages, records: events });
    // Claims whose old record no page of the run deleted: decided as at the end of a full sync's
    // stream (see settleBatchClaims).
    if (!run.failure) for (const entity of [...run.waiting.keys()]) await settleWaitingClaims(run, entity);
    run.stats.events = events;
    run.stats.timings.events = Date.now() - t;
    run.onProgress?.({ stream: 'events', pages, records: events, done: true });
  }

  private async applyPage(page: EventPage, progress: { pages: number; records: number }): Promise<void> {
    const byEntity = new Map<Entity, Last>();
    // Sections: the members their events on this page added (null: every member is new).
    const added = new Map<string, Set<string> | null>();
    for (const c of page.changes) {
      if (c.kind === 'upsert' && c.record.entity === 'sections') {
        const before = added.get(c.record.sourceId);
        const now = c.newMembers === undefined ? null : new Set(c.newMembers);
        added.set(
          c.record.sourceId,
          before === undefined ? now : before === null || now === null ? null : new Set([...before, ...now]),
        );
      }
      if (c.kind === 'district') continue; // see districtEvents below
      const entity = c.kind === 'upsert' ? c.record.entity : c.entity;
      const id = c.kind === 'upsert' ? c.record.sourceId : c.sourceId;
      let last = byEntity.get(entity);
      if (!last) byEntity.set(entity, (last = new Map<string, SourceRecord | null>()));
      // The latest change of a record replaces earlier ones (and moves to the end of the map).
      last.delete(id);
      last.set(id, c.kind === 'upsert' ? c.record : null);
    }
    // districts.* events need no write: the run stored the district's record as it is now when it
    // began, and an older event's object must not overwrite it.
    const problems: RunProblem[] = [...page.problems];
    const todo = APPLY_ORDER.filter((e) => byEntity.has(e));
    if (todo.length === 0) todo.push('schools');
    for (const [i, entity] of todo.entries()) {
      const last = i === todo.length - 1;
      await this.applyEntity(
        entity,
        byEntity.get(entity) ?? new Map<string, SourceRecord | null>(),
        added,
        problems.splice(0),
        {
          checkpoint: { cursor: page.cursor, ...progress, complete: false },
          ...(last ? { eventCursor: page.cursor } : {}),
        },
      );
    }
  }

  private async applyEntity(
    entity: Entity,
    changes: Last,
    added: ReadonlyMap<string, Set<string> | null>,
    problems: RunProblem[],
    commit: {
      checkpoint: { cursor: string; pages: number; records: number; complete: boolean };
      eventCursor?: string;
    },
  ): Promise<void> {
    const run = this.run;
    const counts = run.counts.entities[entity];
    const incoming: NormalizedRecord[] = [];
    const deletes: string[] = [];
    const upserts = [...changes].filter((x): x is [string, SourceRecord] => x[1] !== null).map((x) => x[1]);
    for (const [id, rec] of changes) if (rec === null) deletes.push(id);

    const kept =
      entity === 'contacts' ? await this.filterContacts(upserts) : this.filterRecords(entity, upserts);
    for (const k of kept) {
      if (k.outcome === 'keep') incoming.push(normalise(k.record.sourceId, k.data));
      else if (k.outcome === 'filtered') {
        counts.skipped++;
        deletes.push(k.record.sourceId);
        if (entity !== 'contacts')
          problems.push({
            severity: 'warning',
            entity,
            recordId: k.record.sourceId,
            field: 'school',
            reason: 'event for a record of a school the school filter leaves out; archived if stored',
          });
      } else {
        counts.skipped++;
        problems.push({
          severity: 'error',
          entity,
          recordId: k.record.sourceId,
          field: 'school',
          reason: `references school(s) the source did not send: ${k.schoolIds.join(', ')}`,
        });
      }
    }
    if (entity === 'sections') problems.push(...(await this.unsharedMembers(incoming, added)));

    const stored = await run.store.records.states(run.recordScope(), entity, [
      ...incoming.map((r) => r.sourceId),
      ...deletes,
    ]);
    const changeSet = reconcile(stored, incoming);
    counts.created += changeSet.created.length;
    counts.updated += changeSet.updated.length;
    counts.restored += changeSet.restored.length;
    counts.unchanged += changeSet.unchanged.length;
    run.ledger.created(entity, changeSet.created);

    const absent = deletes.filter((id) => {
      const st = stored.get(id);
      return st !== undefined && !st.archived;
    });
    // A record deleted earlier in the run (or by the run it took over) and sent again stays.
    const present = this.pending.has(entity) ? incoming.map((r) => r.sourceId) : [];
    if (absent.length > 0) this.pending.add(entity);

    const writes = [...changeSet.created, ...changeSet.updated, ...changeSet.restored];
    const idle =
      writes.length === 0 && absent.length === 0 && problems.length === 0 && changeSet.records.length === 0;
    // Nothing to write, no account to look at, no cursor to move: no transaction.
    if (idle && commit.eventCursor === undefined) return;
    await applyBatch(run, {
      stream: EVENTS_STREAM,
      entity,
      writes,
      incoming: changeSet.records,
      absent,
      problems,
      checkpoint: commit.checkpoint,
      present,
      turn: null,
      rawRefresh: [],
      settleClaims: true,
      ...(commit.eventCursor !== undefined ? { eventCursor: commit.eventCursor } : {}),
    });
  }

  /** The school filter on schools, students, staff and sections, as a full sync applies it. */
  private filterRecords(entity: Entity, records: readonly SourceRecord[]): Kept[] {
    const scope = this.run.scope;
    return records.map((record): Kept => {
      const data = record.data;
      switch (entity) {
        case 'schools':
          return scope.matches(record.sourceId, data as EntityData['schools'])
            ? { outcome: 'keep', record, data }
            : { outcome: 'filtered', record };
        case 'students':
        case 'staff':
        case 'sections': {
          const o =
            entity === 'students'
              ? scope.student(data as EntityData['students'])
              : entity === 'staff'
                ? scope.staff(data as EntityData['staff'])
                : scope.section(data as EntityData['sections']);
          if (o.kind === 'keep') return { outcome: 'keep', record, data: o.data };
          if (o.kind === 'filtered') return { outcome: 'filtered', record };
          return { outcome: 'unknown', record, schoolIds: o.schoolIds };
        }
        default:
          return { outcome: 'keep', record, data };
      }
    });
  }

  /**
   * A contact is kept while it belongs to at least one student in scope (stored, active and not set
   * to be archived by this run), with its relationships to students out of scope dropped; a contact
   * with none is out, as in a full sync.
   */
  private async filterContacts(contacts: readonly SourceRecord[]): Promise<Kept[]> {
    if (contacts.length === 0) return [];
    const studentsOf = (c: SourceRecord) =>
      (c.data as EntityData['contacts']).relationships.map((r) => r.studentId);
    const ids = [...new Set(contacts.flatMap(studentsOf))];
    const stored = await this.run.store.records.states(this.run.recordScope(), 'students', ids);
    const inScope = await this.run.ledger.studentsInScope(ids, stored);
    return contacts.map((record): Kept => {
      const data = record.data as EntityData['contacts'];
      const relationships = data.relationships.filter((r) => inScope.has(r.studentId));
      if (relationships.length === 0) return { outcome: 'filtered', record };
      if (relationships.length === data.relationships.length) return { outcome: 'keep', record, data };
      return { outcome: 'keep', record, data: { ...data, relationships } };
    });
  }

  /**
   * Sections that list students or teachers the store does not hold (not shared with the app, or left
   * out by the school filter): the section is applied as a full sync would, and reported. Only the
   * members the events added are looked at (see SourceChange.newMembers): the others were there
   * before, and were reported then.
   */
  private async unsharedMembers(
    sections: readonly NormalizedRecord[],
    added: ReadonlyMap<string, Set<string> | null>,
  ): Promise<RunProblem[]> {
    if (sections.length === 0) return [];
    const scope = this.run.recordScope();
    const checked = sections.map((s) => {
      const d = s.data as EntityData['sections'];
      const only = added.get(s.sourceId) ?? null;
      const pick = (list: readonly string[]) => (only === null ? list : list.filter((id) => only.has(id)));
      return { students: pick(d.studentIds), teachers: pick(d.teacherIds) };
    });
    const students = await this.run.store.records.states(scope, 'students', [
      ...new Set(checked.flatMap((c) => c.students)),
    ]);
    const teachers = await this.run.store.records.states(scope, 'staff', [
      ...new Set(checked.flatMap((c) => c.teachers)),
    ]);
    const problems: RunProblem[] = [];
    sections.forEach((s, i) => {
      const c = checked[i]!;
      const missing =
        c.students.filter((id) => !(students.get(id) && !students.get(id)!.archived)).length +
        c.teachers.filter((id) => !(teachers.get(id) && !teachers.get(id)!.archived)).length;
      if (missing > 0)
        problems.push({
          severity: 'warning',
          entity: 'sections',
          recordId: s.sourceId,
          field: 'students',
          reason: `lists ${missing} member(s) the district did not share (or the school filter leaves out)`,
        });
    });
    return problems;
  }
}

type Kept =
  | { outcome: 'keep'; record: SourceRecord; data: EntityData[Entity] }
  | { outcome: 'filtered'; record: SourceRecord }
  | { outcome: 'unknown'; record: SourceRecord; schoolIds: string[] };

import type { Entity, EntityData } from '../model/entities.js';
import type { StoredState } from '../model/hash.js';
import type { RunProblem } from '../model/run.js';
import { KeySet } from '../shared/key-set.js';
import type { SourcePage, SourceRecord, SourceStream } from '../sources/source.js';
import { StoredOnlyRecord } from '../sources/stored-only.js';
import type { RawRefresh } from '../store/queries/raw-fingerprints.js';
import { applyBatch } from './apply-batch.js';
import { changedWhileRead, loadStored } from './load-stored.js';
import { PageOverlap } from './page-overlap.js';
import type { PageTurn } from './page-overlap.js';
import { absentIds, asSent, inRange, normalise, reconcile } from './reconcile.js';
import type { NormalizedRecord } from './reconcile.js';
import { settleWaitingClaims } from './rekeys.js';
import type { RunContext } from './run-context.js';

interface PreparedPage {
  byEntity: Map<Entity, NormalizedRecord[]>;
  /** Ids present this run that must not be archived. */
  keep: Set<string>;
  problems: RunProblem[];
}

/**
 * Reads one stream of a run page by page: each page is prepared (filtered, normalised, hashed: CPU)
 * while the previous page's transaction is in flight, then reconciled against the store and applied
 * as batches (see applyBatch), in page order (see PageOverlap). Once the stream is read to its end
 * its snapshot is complete, and what is stored but was not sent is set to be archived.
 */
export class PagePipeline {
  constructor(private readonly run: RunContext) {}

  async readStream(stream: SourceStream): Promise<void> {
    const t = Date.now();
    let prevCursor: string | null = null;
    let pages = 0;
    let records = 0;
    const seen = stream.ordered ? null : new KeySet();
    /** Ids an ordered stream sent outside their page's range (a misbehaving source): never absent. */
    const strays = new Set<string>();
    // A page's transaction is in flight while the next page is prepared; pages still commit
    // strictly in order (see PageOverlap and overlapDepth).
    const overlap = new PageOverlap(this.overlapDepth(stream));
    // A stream none of whose records are stored yet (a first sync) writes every record: the source
    // may prepare them for that while it decodes (see PageOptions.forWriting).
    let forWriting = true;
    for (const entity of stream.entities)
      if (await this.run.store.records.anyStored(this.run.recordScope(), entity)) forWriting = false;
    try {
      // A store that bulk-loads COPY text takes the rows in that form (see PageOptions.rowText).
      // A re-sync: items whose bytes are those of their stored record need no decoding (see PageOptions.known).
      const known = forWriting
        ? undefined
        : (entity: Entity, ids: readonly string[]) =>
            this.run.store.records.states(this.run.recordScope(), entity, ids);
      for await (const page of stream.pages({
        forWriting,
        rowText: this.run.store.loadsRowText,
        ...(known ? { known } : {}),
      })) {
        if (this.run.failure) break;
        pages++;
        records += page.records.length + page.invalidIds.length + (page.skipped ?? 0);
        this.run.counts.entities[stream.entities[0]!].skipped += page.skipped ?? 0;
        this.run.stats.pages++;
        const prepared = await this.preparePage(stream, page);
        await overlap.start((turn) =>
          this.applyPage(
            stream,
            page,
            prepared,
            prevCursor,
            seen ?? strays,
            { pages, records, complete: false },
            turn,
          ),
        );
        if (page.cursor !== null) prevCursor = page.cursor;
        this.run.onProgress?.({ stream: stream.name, pages, records, done: false });
      }
      await overlap.drain();
    } finally {
      // On a failure, let every transaction of this stream end before the run does.
      await overlap.settled();
    }
    if (this.run.failure) return;
    // The snapshot is complete: what is stored but was not seen is absent.
    for (const entity of stream.entities) {
      if (
        records === 0 &&
        (await this.run.store.records.count(
          { district: this.run.district!, source: this.run.source.kind },
          entity,
        )) > 0
      ) {
        this.run.emptied.add(entity);
      }
      const candidates = stream.ordered
        ? absentIds(
            await this.run.store.records.activeIdsInRange(this.run.recordScope(), entity, prevCursor, null),
            strays,
          )
        : await this.absentFromSeen(entity, seen!);
      await applyBatch(this.run, {
        stream,
        entity,
        writes: [],
        incoming: [],
        absent: candidates,
        problems: [],
        checkpoint: { cursor: prevCursor, pages, records, complete: true },
        present: [],
        turn: null,
        rawRefresh: [],
      });
      // Now that what is absent is known, the claims that waited for it are decided (see sync/rekeys.ts).
      await settleWaitingClaims(this.run, entity);
    }
    this.run.stats.timings[stream.name] = Date.now() - t;
    this.run.onProgress?.({ stream: stream.name, pages, records, done: true });
  }

  /**
   * How many page transactions of a stream may be in flight at once. Two when the database runs
   * transactions side by side, the stream walks ids in order (pages cover disjoint ranges), one
   * entity, it is a real run, and the district had no accounts at its start: then a page's
   * provisioning needs nothing from the store that the page before it is still writing, except for
   * keys this run has already written, and for those it waits (see ProvisionBatch.gate).
   */
  private overlapDepth(stream: SourceStream): number {
    const overlap =
      this.run.store.concurrentTransactions &&
      stream.ordered &&
      stream.entities.length === 1 &&
      this.run.ledger.keeps &&
      this.run.known !== null;
    return overlap ? 2 : 1;
  }

  private async absentFromSeen(entity: Entity, seen: KeySet): Promise<string[]> {
    const out: string[] = [];
    let after: string | null = null;
    for (;;) {
      const ids = await this.run.store.records.activeIdsPage(this.run.recordScope(), entity, after, 10_000);
      if (ids.length === 0) break;
      for (const id of ids) if (!seen.has(id)) out.push(id);
      after = ids[ids.length - 1]!;
    }
    return out;
  }

  /**
   * The CPU half of a page: filter, normalise and hash its records (and scope contacts). Runs while
   * the previous page's transaction is still in flight.
   */
  private async preparePage(stream: SourceStream, page: SourcePage): Promise<PreparedPage> {
    const problems: RunProblem[] = [...page.problems];
    // Ids present this run that must not be archived: kept records and records we could not read.
    const keep = new Set<string>(page.invalidIds);
    const byEntity = new Map<Entity, NormalizedRecord[]>();
    for (const e of stream.entities) byEntity.set(e, []);
    for (const id of page.invalidIds) {
      const e = stream.entities[0]!;
      this.run.counts.entities[e].skipped++;
      if (e === 'schools') this.run.scope.addKnownId(id);
    }

    // Records the source did not decode, that the school filter trims: their stored data is read.
    const trimmed = page.records.filter(
      (rec): rec is StoredOnlyRecord =>
        rec instanceof StoredOnlyRecord &&
        (rec.entity === 'students' || rec.entity === 'staff' || rec.entity === 'sections') &&
        !this.run.scope.keepsAll(rec.entity, rec.schoolIds ?? []),
    );
    if (trimmed.length > 0) await loadStored(this.run.store, this.run.recordScope(), trimmed);

    const contacts: SourceRecord[] = [];
    for (const rec of page.records) {
      const counts = this.run.counts.entities[rec.entity];
      /** null: filtered out; undefined: the record as the source sent it (its `data` maybe unread). */
      let data: EntityData[Entity] | null | undefined = undefined;
      switch (rec.entity) {
        case 'schools':
          if (!this.run.scope.addSchool(rec.sourceId, rec.data as EntityData['schools'])) data = null;
          break;
        case 'students':
        case 'staff':
        case 'sections': {
          // Every school of the record in scope: nothing to filter, no need to read the record.
          if (rec.schoolIds !== undefined && this.run.scope.keepsAll(rec.entity, rec.schoolIds)) break;
          const outcome =
            rec.entity === 'students'
              ? this.run.scope.student(rec.data as EntityData['students'])
              : rec.entity === 'staff'
                ? this.run.scope.staff(rec.data as EntityData['staff'])
                : this.run.scope.section(rec.data as EntityData['sections']);
          if (outcome.kind === 'keep') data = outcome.data === rec.data ? undefined : outcome.data;
          else {
            data = null;
            if (outcome.kind === 'unknown') {
              keep.add(rec.sourceId);
              problems.push({
                severity: 'error',
                entity: rec.entity,
                recordId: rec.sourceId,
                field: 'school',
                reason: `references school(s) the source did not send: ${outcome.schoolIds.join(', ')}`,
              });
            }
          }
          break;
        }
        case 'contacts':
          contacts.push(rec);
          continue;
        default:
          break;
      }
      if (data === null) {
        counts.skipped++;
        continue;
      }
      keep.add(rec.sourceId);
      byEntity.get(rec.entity)?.push(data === undefined ? asSent(rec) : normalise(rec.sourceId, data));
    }
    if (contacts.length > 0) {
      for (const c of await this.filterContacts(contacts)) {
        if (c.data === null) {
          this.run.counts.entities.contacts.skipped++;
          continue;
        }
        keep.add(c.record.sourceId);
        byEntity
          .get('contacts')
          ?.push(c.data === undefined ? asSent(c.record) : normalise(c.record.sourceId, c.data));
      }
    }

    return { byEntity, keep, problems };
  }

  /** The database half of a page: read stored state, reconcile, and commit. Pages apply in order. */
  private async applyPage(
    stream: SourceStream,
    page: SourcePage,
    prepared: PreparedPage,
    prevCursor: string | null,
    /** Unordered streams: every id seen so far. Ordered ones: the ids sent outside their page's range. */
    seen: KeySet | Set<string>,
    progress: { pages: number; records: number; complete: boolean },
    turn: PageTurn | null,
  ): Promise<void> {
    const { byEntity, keep, problems } = prepared;
    for (const [entity, incoming] of byEntity) {
      if (!stream.ordered) for (const id of keep) seen.add(id);
      // An ordered page covers the id range (prevCursor, cursor]: one range read gives both what is
      // stored for its records and what is stored but was not sent (absent). Ids a source sends
      // outside its page's range are still read one by one, so reconcile stays exact.
      let stored: Map<string, StoredState>;
      const candidates: string[] = [];
      let stray: string[] = [];
      if (stream.ordered && page.cursor !== null) {
        stored = await this.run.store.records.statesInRange(
          this.run.recordScope(),
          entity,
          prevCursor,
          page.cursor,
        );
        stray = [...keep].filter((id) => !inRange(id, prevCursor, page.cursor));
        // A stray may be in the range the page before is still writing: read it after that commits.
        if (stray.length > 0 && turn?.before) await turn.before;
        for (const id of stray) seen.add(id);
        for (const [id, st] of stored)
          if (!st.archived && !keep.has(id) && !seen.has(id)) candidates.push(id);
        for (const [id, st] of await this.run.store.records.states(this.run.recordScope(), entity, stray))
          stored.set(id, st);
      } else {
        stored = await this.run.store.records.states(
          this.run.recordScope(),
          entity,
          incoming.map((r) => r.sourceId),
        );
      }
      const changes = reconcile(stored, incoming);
      // A record the source did not decode is the stored one (it carries the stored hash): it can
      // only need writing if the row changed since the source read it, which only a source sending
      // the same id twice on different pages could do.
      for (const r of [...changes.created, ...changes.updated, ...changes.restored]) {
        if (r.storedOnly && !r.storedOnly.isLoaded) throw changedWhileRead(entity, r.sourceId);
      }
      const c = this.run.counts.entities[entity];
      c.created += changes.created.length;
      c.updated += changes.updated.length;
      c.restored += changes.restored.length;
      c.unchanged += changes.unchanged.length;
      c.skipped += changes.duplicates.length;
      for (const id of changes.duplicates) {
        problems.push({
          severity: 'warning',
          entity,
          recordId: id,
          field: null,
          reason: 'sent twice by the source; the first copy was used',
        });
      }
      this.run.ledger.created(entity, changes.created);
      // Unchanged records decoded although stored: their raw hash (see SourceRecord.fingerprint) was
      // not stored with them, so it is, and the next re-sync recognises them without decoding.
      const rawRefresh: RawRefresh[] = [];
      for (const r of changes.records) {
        if (r.storedOnly || r.isNew) continue;
        const st = stored.get(r.sourceId);
        // The stored state first: the fingerprint is built when read.
        if (!st || st.archived || st.hash !== r.hash || st.raw === undefined) continue;
        const fp = r.fingerprint;
        if (fp && st.raw !== fp.raw) rawRefresh.push({ sourceId: r.sourceId, raw: fp.raw, scope: fp.scope });
      }
      const writes: NormalizedRecord[] = [...changes.created, ...changes.updated, ...changes.restored];
      // Provisioning sees every record of the page once (a record sent twice gets one account).
      await applyBatch(this.run, {
        stream,
        entity,
        writes,
        incoming: changes.records,
        absent: candidates,
        problems: problems.splice(0),
        checkpoint: { cursor: page.cursor ?? prevCursor, ...progress },
        present: stray,
        turn,
        rawRefresh,
      });
    }
  }

  /**
   * A contact is in scope while it belongs to at least one student in scope; relationships to
   * students out of scope are dropped. Students to be archived by this run are out of scope.
   */
  private async filterContacts(
    contacts: readonly SourceRecord[],
  ): Promise<Array<{ record: SourceRecord; data: EntityData['contacts'] | null | undefined }>> {
    const studentsOf = (c: SourceRecord): readonly string[] =>
      c.studentIds ?? (c.data as EntityData['contacts']).relationships.map((r) => r.studentId);
    const ids = [...new Set(contacts.flatMap(studentsOf))];
    const stored = await this.run.store.records.states(this.run.recordScope(), 'students', ids);
    const inScope = await this.run.ledger.studentsInScope(ids, stored);
    // Contacts the source did not decode that lose some of their students: their stored data is read.
    const trimmed = contacts.filter(
      (c): c is StoredOnlyRecord =>
        c instanceof StoredOnlyRecord && studentsOf(c).some((id) => !inScope.has(id)),
    );
    if (trimmed.length > 0) await loadStored(this.run.store, this.run.recordScope(), trimmed);
    return contacts.map((c) => {
      const students = studentsOf(c);
      const kept = students.filter((id) => inScope.has(id)).length;
      if (kept === 0) return { record: c, data: null };
      // All its students in scope: the contact as sent (undefined), without reading it.
      if (kept === students.length) return { record: c, data: undefined };
      const data = c.data as EntityData['contacts'];
      return {
        record: c,
        data: { ...data, relationships: data.relationships.filter((r) => inScope.has(r.studentId)) },
      };
    });
  }
}

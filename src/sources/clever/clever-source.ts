import type { AccountEntity, AccountFieldsOf } from '../../model/account-fields.js';
import type { Entity, EntityData } from '../../model/entities.js';
import type { PreparedRow, RawFingerprint } from '../../store/encoding/prepared-row.js';
import type { RunProblem } from '../../model/run.js';
import { RostersyncError } from '../../shared/errors.js';
import type {
  EventFeed,
  PageOptions,
  Source,
  SourceDistrict,
  SourcePage,
  SourceRecord,
  SourceStats,
  SourceStream,
} from '../source.js';
import { CleverEventFeed } from './clever-events.js';
import { CleverClient } from './http/clever-client.js';
import type { CleverClientOptions } from './http/clever-client.js';
import type { BodyDecoder } from './http/clever-client.js';
import { CleverMapper } from './decode/clever-mapper.js';
import { DecoderThread } from './decode/decoder-thread.js';
import { StoredOnlyRecord } from '../stored-only.js';
import { hasRawHash, PageDecoder, scanPage } from './decode/page-decoder.js';
import type { DecodedPage, PageKind, PageScan } from './decode/page-decoder.js';
import { HASH_LENGTH, NO_RAW, RAW_LENGTH } from './decode/record-packer.js';
import type { PackedRecords } from './decode/record-packer.js';

/** The client's options (see CleverClientOptions for each one's meaning and default), and the source's own. */
export interface CleverSourceOptions extends Pick<
  CleverClientOptions,
  | 'baseUrl'
  | 'token'
  | 'apiVersion'
  | 'requestsPerMinute'
  | 'concurrency'
  | 'timeoutMs'
  | 'maxRetries'
  | 'retryBaseMs'
  | 'maxRetryTimeMs'
  | 'logger'
> {
  /** Records per page (1–10000). Default 10000. */
  pageSize?: number;
  /**
   * Parse, map and hash pages in a worker thread (default true): that is most of a sync's CPU per
   * record, and it then runs beside the main thread's reconcile and writes. Off: on the main thread.
   */
  decodeInWorker?: boolean;
}

/**
 * Clever as a source. Streams, in dependency order: `schools` → `terms`, `courses`,
 * `users:student`, `users:staff`, `sections` → `users:contact` (contacts are filtered by the students
 * they belong to, so they come after students). Every list is a complete snapshot walked in
 * ascending id order, except staff: a multi-role person appears once per role query (teacher,
 * staff, district_admin), so that stream dedupes and is marked unordered.
 *
 * Above ~400 lines because it is the composition of the HTTP walk (http/) and the decoder (decode/)
 * into the source port, and that includes turning a packed page back into SourceRecords
 * (DecodedSourceRecord) and the re-sync's skipping of unchanged items: both are the port's side of
 * the decoder's output, read only here.
 */
export class CleverSource implements Source {
  readonly kind = 'clever' as const;
  readonly client: CleverClient;
  private readonly pageSize: number;
  /** Decodes pages off the main thread; null when `decodeInWorker` is off. */
  private readonly thread: DecoderThread | null;
  /** Decodes pages on the main thread when `decodeInWorker` is off (its buffers are made on first use). */
  private readonly decoder = new PageDecoder();
  /** Records recognised unchanged by their items' raw hashes, not decoded (see PageOptions.known). */
  private readonly skimmed = { skipped: 0 };
  /** The Events API feed (see CleverEventFeed). */
  private readonly feed: CleverEventFeed;

  constructor(opts: CleverSourceOptions) {
    this.pageSize = opts.pageSize ?? 10_000;
    this.thread = opts.decodeInWorker === false ? null : new DecoderThread();
    this.client = new CleverClient({
      baseUrl: opts.baseUrl,
      token: opts.token,
      apiVersion: opts.apiVersion,
      ...(opts.requestsPerMinute !== undefined ? { requestsPerMinute: opts.requestsPerMinute } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
      ...(opts.maxRetryTimeMs !== undefined ? { maxRetryTimeMs: opts.maxRetryTimeMs } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    });
    this.feed = new CleverEventFeed(this.client, opts.token, this.pageSize);
  }

  events(): EventFeed {
    return this.feed;
  }

  async district(): Promise<SourceDistrict> {
    this.thread?.warm(); // a sync asks for the district first; the pages come right after
    const page = await this.client.listPage('/districts');
    const raw = page.items[0];
    if (!raw) throw new RostersyncError('bad_response', 'clever /districts: the token sees no district');
    const id = typeof raw.id === 'string' ? raw.id : null;
    if (!id) throw new RostersyncError('bad_response', 'clever /districts: the district has no id');
    return { sourceDistrictId: id, data: new CleverMapper().mapDistrict(raw) };
  }

  streams(): SourceStream[] {
    return [
      this.simple('schools', '/schools', 'schools', []),
      this.simple('terms', '/terms', 'terms', ['schools']),
      this.simple('courses', '/courses', 'courses', ['schools']),
      this.users('users:student', ['student'], 'students', true, ['schools']),
      this.users('users:staff', ['teacher', 'staff', 'district_admin'], 'staff', false, ['schools']),
      this.simple('sections', '/sections', 'sections', ['schools']),
      this.users('users:contact', ['contact'], 'contacts', true, ['users:student']),
    ];
  }

  stats(): SourceStats {
    return {
      requests: this.client.stats.requests,
      retries: this.client.stats.retries,
      rateLimited: this.client.stats.rateLimited,
      undecoded: this.skimmed.skipped,
    };
  }

  async close(): Promise<void> {
    await this.thread?.close();
    await this.client.close();
  }

  /**
   * Pages of one list, decoded (in the worker thread unless turned off). With `known` (a re-sync of
   * an entity with raw hashes, see PageOptions.known), each page is first scanned for its items' ids
   * and raw hashes; the items whose raw hash is stored with an active record are not decoded, and
   * come back as StoredOnlyRecords in `stored`, by item.
   */
  private decodedPages(
    path: string,
    what: PageKind,
    known: PageOptions['known'],
  ): AsyncGenerator<SkimmedPage> {
    const thread = this.thread;
    const decoder = this.decoder;
    const oneStep: BodyDecoder<SkimmedPage> = async (bytes) => {
      const r = thread ? await thread.decode(bytes, what) : decoder.decode(bytes, what);
      return r.ok ? { ok: true, value: { ...r.page, stored: null } } : r;
    };
    const twoSteps: BodyDecoder<SkimmedPage> = async (bytes) => {
      let handle = 0;
      let scan: { ids: Array<string | null>; raws: string } | null;
      let local: PageScan | null = null;
      if (thread) ({ handle, scan } = await thread.scan(bytes, what));
      else {
        local = scanPage(bytes, what);
        scan = local ? { ids: local.list.ids, raws: local.raws } : null;
      }
      let skip: Uint8Array | null = null;
      let stored: Array<StoredOnlyRecord | undefined> | null = null;
      try {
        if (scan) ({ skip, stored } = await unchangedItems(what.entity, scan, known!));
      } catch (err) {
        thread?.drop(handle);
        throw err;
      }
      const r = thread ? await thread.finish(handle, skip) : decoder.decode(bytes, what, local, skip);
      if (!r.ok) return r;
      return { ok: true, value: { ...r.page, stored: r.page.skipped === true ? stored : null } };
    };
    const decode = known && hasRawHash(what.entity) ? twoSteps : oneStep;
    return this.client.walkDecoded(path, { limit: this.pageSize }, decode);
  }

  private simple(
    name: string,
    path: string,
    entity: 'schools' | 'terms' | 'courses' | 'sections',
    dependsOn: string[],
  ): SourceStream {
    return {
      name,
      entities: [entity],
      ordered: true,
      dependsOn,
      pages: async function* (this: CleverSource, opts: PageOptions = {}): AsyncGenerator<SourcePage> {
        const forWriting = opts.forWriting === true;
        const rowText = opts.rowText === true;
        for await (const page of this.decodedPages(
          path,
          { kind: 'simple', entity, forWriting, rowText },
          opts.known,
        )) {
          const out: SourcePage = { records: [], invalidIds: [], problems: [], cursor: page.lastId };
          for (const n of page.notes) {
            if (n.problem) {
              out.problems.push(n.problem);
              if (n.problem.recordId) out.invalidIds.push(n.problem.recordId);
            } else out.problems.push(...n.warnings);
          }
          out.records = pageRecords(entity, page, null, this.skimmed);
          yield out;
        }
      }.bind(this),
    };
  }

  private users(
    name: string,
    roles: string[],
    entity: 'students' | 'staff' | 'contacts',
    ordered: boolean,
    dependsOn: string[],
  ): SourceStream {
    return {
      name,
      entities: [entity],
      ordered,
      dependsOn,
      pages: async function* (this: CleverSource, opts: PageOptions = {}): AsyncGenerator<SourcePage> {
        const forWriting = opts.forWriting === true;
        const rowText = opts.rowText === true;
        // Only needed for the multi-role staff walk; small (staff are a few percent of users).
        const seen = ordered ? null : new Set<string>();
        for (const role of roles) {
          for await (const page of this.decodedPages(
            `/users?role=${role}`,
            { kind: 'users', entity, forWriting, rowText },
            opts.known,
          )) {
            const out: SourcePage = {
              records: [],
              invalidIds: [],
              problems: [],
              cursor: ordered ? page.lastId : null,
            };
            // Items a multi-role walk has already seen (staff): their notes and records are dropped.
            let dropped: Set<number> | null = null;
            if (seen) {
              for (let i = 0; i < page.itemIds.length; i++) {
                const id = page.itemIds[i]!;
                if (id === null) continue;
                if (seen.has(id)) (dropped ??= new Set()).add(i);
                else seen.add(id);
              }
            }
            for (const n of page.notes) {
              if (dropped?.has(n.item)) continue;
              out.problems.push(...n.warnings.map((w) => relabel(w, entity)));
              if (n.problem) {
                out.problems.push(relabel(n.problem, entity));
                const id = page.itemIds[n.item];
                if (id !== null && id !== undefined) out.invalidIds.push(id);
              }
            }
            out.records = pageRecords(entity, page, dropped, this.skimmed);
            yield out;
          }
        }
      }.bind(this),
    };
  }
}

/**
 * A record as the decoder sent it: the hash up front, the canonical JSON decoded from its page's
 * bytes the first time someone reads `json`, and the fields parsed from that the first time someone
 * reads `data`. An unchanged record is never decoded or parsed.
 */
class DecodedSourceRecord implements SourceRecord {
  readonly sourceId: string;
  readonly hash: string;
  private readonly page: PackedRecords;
  private readonly index: number;
  private text: string | undefined;
  private parsed: EntityData[Entity] | undefined;
  private list: string[] | undefined;
  private row: PreparedRow | undefined;

  constructor(
    readonly entity: Entity,
    page: PackedRecords,
    index: number,
    /** The page's JSON bytes as a Buffer (one view per page). */
    private readonly bytes: Buffer,
  ) {
    this.page = page;
    this.index = index;
    this.sourceId = page.sourceIds[index]!;
    this.hash = page.hashes.substring(index * HASH_LENGTH, (index + 1) * HASH_LENGTH);
  }

  get json(): string {
    const end = this.page.jsonEnd;
    return (this.text ??= this.bytes.toString(
      'utf8',
      this.index === 0 ? 0 : end[this.index - 1]!,
      end[this.index],
    ));
  }

  /** The raw hash of the record's item, when it may be recognised by it (see PackedRecords.raws). */
  private raw(): string | null {
    const raws = this.page.raws;
    if (raws === null) return null;
    const raw = raws.substring(this.index * RAW_LENGTH, (this.index + 1) * RAW_LENGTH);
    return raw === NO_RAW ? null : raw;
  }

  /** With a raw hash, that and the record's filter scope as JSON (see SourceRecord.fingerprint). */
  get fingerprint(): RawFingerprint | undefined {
    const raw = this.raw();
    return raw === null ? undefined : { raw, scope: JSON.stringify(this.members() ?? []) };
  }

  /** Students, staff, sections: the record's schools (see SourceRecord.schoolIds). */
  get schoolIds(): readonly string[] | undefined {
    return this.entity === 'contacts' ? undefined : this.members();
  }

  /** Contacts: the students of its relationships. */
  get studentIds(): readonly string[] | undefined {
    return this.entity === 'contacts' ? this.members() : undefined;
  }

  get data(): EntityData[Entity] {
    return (this.parsed ??= JSON.parse(this.json) as EntityData[Entity]);
  }

  /** What writing the record takes, as its page prepared it (see PackedRecords.prepared). */
  get prepared(): PreparedRow {
    return (this.row ??= { rows: this.page.prepared, index: this.index });
  }

  /** Students and staff, when the page carries them (see PackedRecords.account): their account fields. */
  get accountData(): AccountFieldsOf[AccountEntity] | undefined {
    const a = this.page.account;
    if (!a) return undefined;
    return JSON.parse(
      a.text.substring(this.index === 0 ? 0 : a.end[this.index - 1]!, a.end[this.index]),
    ) as AccountFieldsOf[AccountEntity];
  }

  private members(): string[] | undefined {
    const lists = this.page.lists;
    if (!lists) return undefined;
    if (this.list) return this.list;
    const out: string[] = (this.list = []);
    for (let m = lists.memberStart[this.index]!; m < lists.memberStart[this.index + 1]!; m++) {
      out.push(lists.text.substring(m === 0 ? 0 : lists.memberEnd[m - 1]!, lists.memberEnd[m]));
    }
    return out;
  }
}

/** A decoded page, with the records of the items it skipped (see CleverSource.decodedPages). */
type SkimmedPage = DecodedPage & { stored: Array<StoredOnlyRecord | undefined> | null };

/**
 * Which items of a scanned page are unchanged: those whose id is stored, active, with this very raw
 * hash and a scope. Each becomes a StoredOnlyRecord; `skip` marks them (null: none is).
 */
async function unchangedItems(
  entity: Entity,
  scan: { ids: Array<string | null>; raws: string },
  known: NonNullable<PageOptions['known']>,
): Promise<{ skip: Uint8Array | null; stored: Array<StoredOnlyRecord | undefined> | null }> {
  const ids = scan.ids.filter((id): id is string => id !== null);
  if (ids.length === 0) return { skip: null, stored: null };
  const states = await known(entity, ids);
  const skip = new Uint8Array(scan.ids.length);
  const stored: Array<StoredOnlyRecord | undefined> = new Array<StoredOnlyRecord | undefined>(
    scan.ids.length,
  );
  let any = false;
  for (let i = 0; i < scan.ids.length; i++) {
    const id = scan.ids[i];
    const st = id === null || id === undefined ? undefined : states.get(id);
    if (!st || st.archived || st.raw === null || st.scope === null) continue;
    if (!scan.raws.startsWith(st.raw, i * RAW_LENGTH) || st.raw.length !== RAW_LENGTH) continue;
    skip[i] = 1;
    stored[i] = new StoredOnlyRecord(entity, id!, st.hash, st.raw, st.scope);
    any = true;
  }
  return any ? { skip, stored } : { skip: null, stored: null };
}

/**
 * A page's records in item order: the decoded ones and the skipped ones, less the `dropped` items.
 * The skipped ones are counted in `skimmed` (pages decoded on a wrong guess never come here).
 */
function pageRecords(
  entity: Entity,
  page: SkimmedPage,
  dropped: Set<number> | null,
  skimmed: { skipped: number },
): SourceRecord[] {
  const records = page.records;
  const out: SourceRecord[] = [];
  const bytes = jsonBytes(records);
  let r = 0;
  for (let item = 0; item < page.itemIds.length; item++) {
    const stored = page.stored?.[item];
    if (stored) {
      if (!dropped?.has(item)) {
        out.push(stored);
        skimmed.skipped++;
      }
      continue;
    }
    for (; r < records.count && records.item[r] === item; r++)
      if (!dropped?.has(item)) out.push(new DecodedSourceRecord(entity, records, r, bytes));
  }
  return out;
}

/** A Buffer view (no copy) of a page's JSON bytes, for UTF-8 decoding. */
function jsonBytes(records: PackedRecords): Buffer {
  return Buffer.from(records.json.buffer, records.json.byteOffset, records.json.byteLength);
}

/** User problems are reported under the entity of the stream that met them. */
function relabel(p: RunProblem, entity: Entity): RunProblem {
  return p.entity === 'users' ? { ...p, entity } : p;
}

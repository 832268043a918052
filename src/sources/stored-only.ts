import type { Entity, EntityData } from '../model/entities.js';
import type { RawFingerprint } from '../store/encoding/prepared-row.js';
import type { SourceRecord } from './source.js';

/**
 * A record a source found unchanged without decoding it: its item's bytes hash to the raw hash
 * stored with the record (see PageOptions.known), so the item maps to exactly the stored record.
 * It carries the stored content hash and filter scope; its `data` is the stored record's, read from
 * the store only when something needs it (see {@link load}): a record the filter trims, an account
 * to derive again. On a no-change re-sync nothing does.
 */
export class StoredOnlyRecord implements SourceRecord, RawFingerprint {
  private loaded: EntityData[Entity] | undefined;
  private list: string[] | undefined;

  constructor(
    readonly entity: Entity,
    readonly sourceId: string,
    /** The stored record's content hash, which is this record's. */
    readonly hash: string,
    /** The item's raw hash, equal to the stored one. */
    readonly raw: string,
    /** The stored filter scope, JSON (see store/migrations/0005-raw-item-hash.ts). */
    readonly scope: string,
  ) {}

  /** The stored raw hash and scope, which are this record's: the record itself, no copy. */
  get fingerprint(): RawFingerprint {
    return this;
  }

  /** Whether `data` has been loaded. */
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** Gives the record its data: the stored record's, read under the stored hash it carries. */
  load(data: EntityData[Entity]): void {
    this.loaded = data;
  }

  get data(): EntityData[Entity] {
    if (this.loaded === undefined)
      throw new Error(`${this.entity} ${this.sourceId}: read before its stored data was loaded`);
    return this.loaded;
  }

  get schoolIds(): readonly string[] | undefined {
    return this.entity === 'contacts' ? undefined : this.members();
  }

  get studentIds(): readonly string[] | undefined {
    return this.entity === 'contacts' ? this.members() : undefined;
  }

  private members(): string[] {
    return (this.list ??= JSON.parse(this.scope) as string[]);
  }
}

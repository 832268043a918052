import type { Kysely } from 'kysely';
import type { Database, OpenDatabaseOptions } from './db.js';
import { openDatabase } from './db.js';
import { migrateToLatest } from './migrator.js';
import type { MigrationOutcome } from './migrator.js';
import type { DialectQueries } from './dialect/dialect.js';
import { AccountSearchRepo } from './queries/account-search.js';
import { AccountsRepo } from './queries/accounts.js';
import { ApiKeysRepo } from './queries/api-keys.js';
import { AdminsRepo } from './queries/admins.js';
import { ChangeFeedRepo } from './queries/change-feed.js';
import { CheckpointsRepo } from './queries/checkpoints.js';
import { DistrictsRepo } from './queries/districts.js';
import { EventCursorsRepo } from './queries/event-cursors.js';
import { IdentitiesRepo } from './queries/identities.js';
import { LinksRepo } from './queries/links.js';
import { LocksRepo } from './queries/locks.js';
import { OverridesRepo } from './queries/overrides.js';
import { PendingDeactivationsRepo } from './queries/pending-deactivations.js';
import { PendingRekeysRepo } from './queries/pending-rekeys.js';
import { RawFingerprintsRepo } from './queries/raw-fingerprints.js';
import { RecordsRepo } from './queries/records.js';
import { RosterSearchRepo } from './queries/roster-search.js';
import { RunsRepo } from './queries/runs.js';
import { ServiceRepo } from './queries/service.js';
import { SignInsRepo } from './queries/sign-ins.js';
import { SigningKeysRepo } from './queries/signing-keys.js';
import { WebhooksRepo } from './queries/webhooks.js';
import type { DB } from './schema.js';

export interface StoreOptions extends OpenDatabaseOptions {
  /** Clock for stored timestamps. Default: the system clock. */
  now?: () => Date;
  /** Run migrations on open. Default true. */
  migrate?: boolean;
}

/**
 * The store: the only place with SQL. A `Store` bound to a transaction (inside `transaction()`) has
 * the same repositories, all writing in that transaction.
 */
export class Store {
  readonly records: RecordsRepo;
  readonly links: LinksRepo;
  readonly rawFingerprints: RawFingerprintsRepo;
  readonly runs: RunsRepo;
  readonly districts: DistrictsRepo;
  readonly checkpoints: CheckpointsRepo;
  readonly eventCursors: EventCursorsRepo;
  readonly locks: LocksRepo;
  readonly accounts: AccountsRepo;
  /** Finding accounts and reading one in full (the API and admin pages). */
  readonly accountSearch: AccountSearchRepo;
  readonly identities: IdentitiesRepo;
  readonly overrides: OverridesRepo;
  readonly changeFeed: ChangeFeedRepo;
  readonly pendingDeactivations: PendingDeactivationsRepo;
  readonly pendingRekeys: PendingRekeysRepo;
  readonly webhooks: WebhooksRepo;
  readonly service: ServiceRepo;
  readonly signIns: SignInsRepo;
  readonly signingKeys: SigningKeysRepo;
  readonly apiKeys: ApiKeysRepo;
  /** Paging through and searching the active roster (the API). */
  readonly rosterSearch: RosterSearchRepo;
  readonly admins: AdminsRepo;
  /** Migrations applied when this store was opened. */
  migration: MigrationOutcome | null = null;
  private readonly dialectQueries: DialectQueries;

  protected constructor(
    protected readonly database: Database,
    protected readonly executor: Kysely<DB>,
    readonly clock: () => Date,
  ) {
    const now = () => clock().toISOString();
    const q = database.queries(executor);
    this.dialectQueries = q;
    this.links = new LinksRepo(executor, q);
    this.records = new RecordsRepo(executor, q, now, this.links);
    this.rawFingerprints = new RawFingerprintsRepo(q);
    this.runs = new RunsRepo(executor, q, now);
    this.districts = new DistrictsRepo(executor, now);
    this.checkpoints = new CheckpointsRepo(executor, now);
    this.eventCursors = new EventCursorsRepo(executor, now);
    this.locks = new LocksRepo(executor, now);
    this.identities = new IdentitiesRepo(q, executor, now);
    this.accounts = new AccountsRepo(executor, q, now, this.identities);
    this.overrides = new OverridesRepo(executor, q, now);
    this.changeFeed = new ChangeFeedRepo(executor, q, now);
    this.accountSearch = new AccountSearchRepo(executor, q, this.overrides, this.changeFeed);
    this.pendingDeactivations = new PendingDeactivationsRepo(executor, q);
    this.pendingRekeys = new PendingRekeysRepo(executor, q);
    this.webhooks = new WebhooksRepo(executor, now);
    this.service = new ServiceRepo(executor, now);
    this.signIns = new SignInsRepo(executor, now);
    this.signingKeys = new SigningKeysRepo(executor, now);
    this.apiKeys = new ApiKeysRepo(executor, now);
    this.rosterSearch = new RosterSearchRepo(executor, q);
    this.admins = new AdminsRepo(executor, now);
  }

  /** Opens the database named by `location` and (by default) migrates it to the latest schema. */
  static async open(opts: StoreOptions): Promise<Store> {
    const database = openDatabase(opts);
    const store = new Store(database, database.db, opts.now ?? (() => new Date()));
    if (opts.migrate !== false) {
      try {
        store.migration = await migrateToLatest(database.db, database.migrations);
      } catch (err) {
        await database.close();
        throw err;
      }
    }
    return store;
  }

  /**
   * Transactions can run side by side, each on its own connection (PostgreSQL): a stream may write
   * its next batch while the previous one commits. SQLite has one connection, used in turn.
   */
  get concurrentTransactions(): boolean {
    return this.database.concurrentTransactions;
  }

  /**
   * New records are best handed over with their rows as COPY text (SourceRecord.prepared): this
   * store loads such lines as they are. Where false, it writes values, so lines would be wasted.
   */
  get loadsRowText(): boolean {
    return this.database.loadsRowText;
  }

  /** The database location, safe to print (passwords removed). */
  get location(): string {
    return this.database.location;
  }

  /** Runs the pending migrations explicitly (`rostersync migrate`). */
  async migrate(): Promise<MigrationOutcome> {
    this.migration = await migrateToLatest(this.database.db, this.database.migrations);
    return this.migration;
  }

  /**
   * Refreshes planner statistics of tables that grew a lot, where the database needs them while a
   * table grows from empty (see DialectQueries.analyze). A no-op elsewhere.
   */
  async analyze(tables: ReadonlyArray<keyof DB>): Promise<void> {
    await this.dialectQueries.analyze(tables);
  }

  /** Runs `fn` in one transaction; everything it writes through `tx` commits or rolls back together. */
  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.database.inTransactionContext(() =>
      this.executor.transaction().execute((trx) => fn(new Store(this.database, trx, this.clock))),
    );
  }

  /**
   * Runs `fn` in one transaction that is always rolled back, whether `fn` resolves or throws: its
   * writes are seen by its own reads and then are gone. A plan runs the sync's batches this way, so
   * that each batch reads what the batches before it would have written.
   */
  async rolledBack<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.database.inTransactionContext(async () => {
      const trx = await this.executor.startTransaction().execute();
      try {
        return await fn(new Store(this.database, trx, this.clock));
      } finally {
        await trx.rollback().execute();
      }
    });
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}

import { hostname } from 'node:os';
import { defaultDistrictConfig } from '../model/district-config.js';
import type { DistrictConfig } from '../model/district-config.js';
import type { SourceKind } from '../model/entities.js';
import { RostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { SourceDistrict } from '../sources/source.js';
import type { Store } from '../store/store.js';

/**
 * A district's session: attaching a source to the district, the district lock every writer of a
 * district's accounts and runs takes (runs, resolving a held run, hand-made accounts), and taking
 * over runs a process left behind.
 */

/** Whoever holds a district lock, as the store records it. */
export type LockHolder = Awaited<ReturnType<Store['locks']['holder']>>;

export interface DistrictLock {
  /** Recorded as the lock's run id: a run's id, or a name for other work (`resolve-<run>`). */
  id: string;
  /** A lock not refreshed for this long (ms) is taken over. Default 600000. */
  staleMs?: number;
  /**
   * Given, a lock whose holder is a process of this host that is gone is taken over at once (and
   * logged here). Default: only stale locks are taken over.
   */
  takeOverDead?: Logger;
  /** The message of the `conflict` error thrown when someone else holds the district. */
  busy: (holder: LockHolder) => string;
  /** A release that fails is ignored (the lock then goes stale). Default false: the failure is thrown. */
  quietRelease?: boolean;
}

/** The lock owner this process writes: host and pid, so that a lock left by a dead process is recognised. */
export function lockOwner(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Runs `fn` holding the district's lock, and releases it after. Throws a `conflict` error (see
 * DistrictLock.busy) without running `fn` when someone else holds the district.
 */
export async function withDistrictLock<T>(
  store: Store,
  district: string,
  lock: DistrictLock,
  fn: () => Promise<T>,
): Promise<T> {
  if (!(await acquireDistrictLock(store, district, lock)))
    throw new RostersyncError('conflict', lock.busy(await store.locks.holder(district)));
  try {
    return await fn();
  } finally {
    const released = store.locks.release(district, lock.id);
    await (lock.quietRelease ? released.catch(() => undefined) : released);
  }
}

async function acquireDistrictLock(store: Store, district: string, lock: DistrictLock): Promise<boolean> {
  const owner = lockOwner();
  const stale = lock.staleMs ?? 600_000;
  if (await store.locks.acquire(district, lock.id, owner, stale)) return true;
  if (!lock.takeOverDead) return false;
  const holder = await store.locks.holder(district);
  if (!holder) return store.locks.acquire(district, lock.id, owner, stale);
  const [host, pid] = holder.owner.split(':');
  if (host === hostname() && pid !== undefined && !processAlive(Number(pid))) {
    lock.takeOverDead.warn({ district, run: holder.runId }, 'taking over the lock of a process that is gone');
    return store.locks.acquire(district, lock.id, owner, -1);
  }
  return false;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Our id for the source's district: the one asked for, else the source's own (the Clever district id). */
export function districtIdOf(d: SourceDistrict, requested: string | undefined): string {
  const id = requested ?? d.sourceDistrictId;
  if (!id) throw new RostersyncError('config', 'the source has no district id; pass --district');
  return id;
}

/**
 * Attaches the source's district to our district `id`. A Clever district attaches to one of ours
 * only, and ours to one Clever district: a token of another is refused. With `write` a district not
 * stored yet is created and linked to its Clever id; a plan writes nothing. Returns the district's
 * configuration (the defaults for a district not stored).
 */
export async function attachDistrict(
  store: Store,
  source: SourceKind,
  d: SourceDistrict,
  id: string,
  opts: { write: boolean },
): Promise<DistrictConfig> {
  if (d.sourceDistrictId && source === 'clever') {
    const other = await store.districts.getByCleverId(d.sourceDistrictId);
    if (other && other.id !== id) {
      throw new RostersyncError(
        'conflict',
        `Clever district ${d.sourceDistrictId} is already attached to district "${other.id}"`,
      );
    }
  }
  let row = await store.districts.get(id);
  if (!row && opts.write) row = await store.districts.ensure(id, d.data.name);
  if (row && d.sourceDistrictId && source === 'clever') {
    if (row.cleverDistrictId && row.cleverDistrictId !== d.sourceDistrictId) {
      throw new RostersyncError(
        'conflict',
        `district "${id}" is attached to Clever district ${row.cleverDistrictId}, but the token belongs to ${d.sourceDistrictId}`,
      );
    }
    if (!row.cleverDistrictId && opts.write) await store.districts.linkClever(id, d.sourceDistrictId);
  }
  return row?.config ?? defaultDistrictConfig();
}

/**
 * Ends the district's runs a stopped process left `running` (the caller holds the district lock, so
 * none of them is alive) and drops what they had queued for removal.
 */
export async function takeOverInterrupted(store: Store, district: string, runId: string): Promise<void> {
  const interrupted = await store.runs.failInterrupted(
    district,
    runId,
    'interrupted: the process stopped before the run finished',
  );
  for (const r of interrupted) {
    await store.runs.clearPendingArchives(r);
    await store.accounts.clearPendingDeactivations(r);
  }
}

import { hostname } from 'node:os';
import { RostersyncError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Store } from './store.js';

/**
 * The district lock: every writer of a district's accounts and runs takes it (a run, resolving a held
 * run, a hand-made account), so that a running sync never meets an account it did not write or read.
 * It lives beside the store, below sync/ and accounts/, because both take it.
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

import { contentHash } from '../model/hash.js';
import type { SyncKind } from '../model/run.js';
import { isRostersyncError, RostersyncError } from '../shared/errors.js';
import type { EventFeed } from '../sources/source.js';
import type { EventCursorState } from '../store/queries/event-cursors.js';

/** What a run is asked to be: `auto` picks (see chooseSyncKind). */
export type SyncKindRequest = 'auto' | SyncKind;
export const SYNC_KIND_REQUESTS = ['auto', 'full', 'events'] as const;

export interface SyncKindDecision {
  kind: SyncKind;
  reason: string;
  /** Set when an events sync was asked for and cannot run: the run fails with it. */
  error?: RostersyncError;
  /** An events sync: the cursor it reads after ('' = the start of the feed). */
  cursor?: string;
}

/** The feed keeps 30 days; a cursor at the start of an empty feed is trusted a day less than that. */
const START_CURSOR_DAYS = 29;
const DAY_MS = 86_400_000;

/**
 * What a full sync is valid for: the district's settings as the accounts derive from them (its
 * derive version covers the school filter, the matching keys and every account setting) and the
 * feed's stamp (the token). An events sync under other settings would leave unchanged records as the
 * old settings had them.
 */
export function settingsStamp(deriveVersion: string, feed: EventFeed): string {
  return contentHash({ deriveVersion, feed: feed.stamp });
}

/**
 * Full or events, and why. `auto` syncs in full when events are not enabled for the app, when there
 * is no cursor (no full sync has finished), when the settings or token changed since the last full
 * sync, when that began `fullEveryDays` ago or more, after a run the safety valve held (or that was
 * rejected), or when the cursor has left the feed's retention
 * window (checked with the feed before reading after it: the feed would silently start later). A
 * requested events sync that cannot run comes back with an `error`; one that merely is due for a
 * full sync runs as asked.
 */
export async function chooseSyncKind(opts: {
  requested: SyncKindRequest;
  feed: EventFeed;
  state: EventCursorState | undefined;
  /** The status of the district's last finished sync of this source, if any. */
  lastStatus: string | undefined;
  stamp: string;
  now: Date;
  fullEveryDays: number;
}): Promise<SyncKindDecision> {
  const { requested, feed, state } = opts;
  if (requested === 'full') return { kind: 'full', reason: 'asked for a full sync (--mode full)' };
  const cannot = (reason: string): SyncKindDecision =>
    requested === 'events'
      ? {
          kind: 'events',
          reason,
          error: new RostersyncError('input', `no events sync: ${reason}; run a full sync (--mode full)`),
        }
      : { kind: 'full', reason };
  try {
    await feed.newest();
  } catch (err) {
    if (isRostersyncError(err, 'not_found') || isRostersyncError(err, 'auth'))
      return cannot('events are not enabled for this Clever app');
    throw err;
  }
  if (!state || state.cursor === null) return cannot('no event cursor yet (no full sync has finished)');
  const ageDays = state.lastFullAt ? (opts.now.getTime() - Date.parse(state.lastFullAt)) / DAY_MS : Infinity;
  if (requested === 'auto') {
    // The removals of a held or rejected run are not read again from the feed: a full sync weighs
    // them again, as it would after a held full sync.
    if (opts.lastStatus === 'held' || opts.lastStatus === 'rejected')
      return {
        kind: 'full',
        reason:
          opts.lastStatus === 'held'
            ? 'the last sync was held by the safety valve'
            : "the last sync's held removals were rejected",
      };
    if (state.settingsStamp !== opts.stamp)
      return {
        kind: 'full',
        reason:
          'the school filter, matching keys, account settings or Clever token changed since the last full sync',
      };
    if (ageDays >= opts.fullEveryDays)
      return {
        kind: 'full',
        reason: `the last full sync began ${ageDays.toFixed(1)} days ago (a full sync every ${opts.fullEveryDays} days: sync.fullSyncEveryDays)`,
      };
  }
  const cursor = state.cursor;
  if (cursor === '' ? ageDays >= START_CURSOR_DAYS : !(await feed.has(cursor)))
    return cannot("the event cursor has left Clever's 30-day event retention");
  const since = `events after the cursor (the last full sync began ${ageDays.toFixed(1)} days ago)`;
  return {
    kind: 'events',
    reason: requested === 'events' ? `asked for an events sync; ${since}` : since,
    cursor,
  };
}

/**
 * The newest event before a full sync's walk, or null when the feed is not enabled for the app (the
 * full sync runs all the same; the next `auto` run is full again).
 */
export async function newestEvent(feed: EventFeed): Promise<string | null> {
  try {
    return await feed.newest();
  } catch (err) {
    if (isRostersyncError(err, 'not_found') || isRostersyncError(err, 'auth')) return null;
    throw err;
  }
}

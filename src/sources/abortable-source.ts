import { RostersyncError } from '../shared/errors.js';
import type { EventFeed, EventPage, PageOptions, Source, SourcePage, SourceStream } from './source.js';

function stopped(): RostersyncError {
  return new RostersyncError(
    'cancelled',
    'stopped: the process is shutting down; the next run of the district finishes this one',
  );
}

/**
 * A source that stops between pages once `signal` is aborted: the page in hand is still applied (its
 * batch commits), then the next read throws a `cancelled` error, which ends the run as failed with
 * that reason. What was committed stays, and the next run of the district finishes the work, as
 * after a crash. Without a signal the source is returned as it is.
 */
export function abortableSource(source: Source, signal: AbortSignal | undefined): Source {
  if (!signal) return source;
  const wrapStream = (s: SourceStream): SourceStream => ({
    name: s.name,
    entities: s.entities,
    ordered: s.ordered,
    dependsOn: s.dependsOn,
    async *pages(opts?: PageOptions): AsyncIterable<SourcePage> {
      if (signal.aborted) throw stopped();
      for await (const page of s.pages(opts)) {
        yield page;
        if (signal.aborted) throw stopped();
      }
    },
  });
  const wrapped: Source = {
    kind: source.kind,
    district: () => (signal.aborted ? Promise.reject(stopped()) : source.district()),
    streams: () => source.streams().map(wrapStream),
    stats: () => source.stats(),
    close: () => source.close(),
  };
  if (source.validate) wrapped.validate = () => source.validate!();
  if (source.events) {
    wrapped.events = () => {
      const feed = source.events!();
      if (!feed) return null;
      const out: EventFeed = {
        stamp: feed.stamp,
        newest: () => feed.newest(),
        has: (id) => feed.has(id),
        schools: () => feed.schools(),
        async *pages(cursor: string): AsyncIterable<EventPage> {
          if (signal.aborted) throw stopped();
          for await (const page of feed.pages(cursor)) {
            yield page;
            if (signal.aborted) throw stopped();
          }
        },
      };
      return out;
    };
  }
  return wrapped;
}

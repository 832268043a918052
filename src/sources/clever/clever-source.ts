import type { Entity } from '../../model/entities.js';
import type { RunProblem } from '../../model/run.js';
import { RostersyncError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type {
  Source,
  SourceDistrict,
  SourcePage,
  SourceRecord,
  SourceStats,
  SourceStream,
} from '../source.js';
import { CleverClient } from './clever-client.js';
import type { CleverApiVersion } from './clever-client.js';
import { mapCourse, mapDistrict, mapSchool, mapSection, mapTerm, mapUser } from './clever-mapper.js';
import type { MapResult } from './clever-mapper.js';

export interface CleverSourceOptions {
  baseUrl: string;
  token: string;
  apiVersion: CleverApiVersion;
  /** Records per page (1–10000). Default 10000. */
  pageSize?: number;
  requestsPerMinute?: number;
  concurrency?: number;
  timeoutMs?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  logger?: Logger;
}

/**
 * Clever as a source. Streams, in dependency order: `schools` → `terms`, `courses`,
 * `users:student`, `users:staff`, `sections` → `users:contact` (contacts are filtered by the students
 * they belong to, so they come after students). Every list is a complete snapshot walked in
 * ascending id order, except staff: a multi-role person appears once per role query (teacher,
 * staff, district_admin), so that stream dedupes and is marked unordered.
 */
export class CleverSource implements Source {
  readonly kind = 'clever' as const;
  readonly client: CleverClient;
  private readonly pageSize: number;

  constructor(opts: CleverSourceOptions) {
    this.pageSize = opts.pageSize ?? 10_000;
    this.client = new CleverClient({
      baseUrl: opts.baseUrl,
      token: opts.token,
      apiVersion: opts.apiVersion,
      ...(opts.requestsPerMinute !== undefined ? { requestsPerMinute: opts.requestsPerMinute } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      ...(opts.retryBaseMs !== undefined ? { retryBaseMs: opts.retryBaseMs } : {}),
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
    });
  }

  async district(): Promise<SourceDistrict> {
    const page = await this.client.listPage('/districts');
    const raw = page.items[0];
    if (!raw) throw new RostersyncError('bad_response', 'clever /districts: the token sees no district');
    const id = typeof raw.id === 'string' ? raw.id : null;
    if (!id) throw new RostersyncError('bad_response', 'clever /districts: the district has no id');
    return { sourceDistrictId: id, data: mapDistrict(raw) };
  }

  streams(): SourceStream[] {
    return [
      this.simple('schools', '/schools', 'schools', mapSchool, []),
      this.simple('terms', '/terms', 'terms', mapTerm, ['schools']),
      this.simple('courses', '/courses', 'courses', mapCourse, ['schools']),
      this.users('users:student', ['student'], 'students', true, ['schools']),
      this.users('users:staff', ['teacher', 'staff', 'district_admin'], 'staff', false, ['schools']),
      this.simple('sections', '/sections', 'sections', mapSection, ['schools']),
      this.users('users:contact', ['contact'], 'contacts', true, ['users:student']),
    ];
  }

  stats(): SourceStats {
    return {
      requests: this.client.stats.requests,
      retries: this.client.stats.retries,
      rateLimited: this.client.stats.rateLimited,
    };
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private simple<E extends Entity>(
    name: string,
    path: string,
    entity: E,
    map: (raw: Record<string, unknown>) => MapResult<SourceRecord<E>['data']> & { id?: string },
    dependsOn: string[],
  ): SourceStream {
    const client = this.client;
    const limit = this.pageSize;
    return {
      name,
      entities: [entity],
      ordered: true,
      dependsOn,
      async *pages(): AsyncGenerator<SourcePage> {
        for await (const page of client.walk(path, { limit })) {
          const out: SourcePage = { records: [], invalidIds: [], problems: [], cursor: lastId(page.items) };
          for (const raw of page.items) {
            const r = map(raw);
            if (r.ok) {
              out.records.push({ entity, sourceId: r.id!, data: r.data });
              out.problems.push(...r.warnings);
            } else {
              out.problems.push(r.problem);
              if (r.problem.recordId) out.invalidIds.push(r.problem.recordId);
            }
          }
          yield out;
        }
      },
    };
  }

  private users(
    name: string,
    roles: string[],
    entity: Entity,
    ordered: boolean,
    dependsOn: string[],
  ): SourceStream {
    const client = this.client;
    const limit = this.pageSize;
    return {
      name,
      entities: [entity],
      ordered,
      dependsOn,
      async *pages(): AsyncGenerator<SourcePage> {
        // Only needed for the multi-role staff walk; small (staff are a few percent of users).
        const seen = ordered ? null : new Set<string>();
        for (const role of roles) {
          for await (const page of client.walk(`/users?role=${role}`, { limit })) {
            const out: SourcePage = {
              records: [],
              invalidIds: [],
              problems: [],
              cursor: ordered ? lastId(page.items) : null,
            };
            for (const raw of page.items) {
              const r = mapUser(raw);
              if (seen && r.id !== null) {
                if (seen.has(r.id)) continue;
                seen.add(r.id);
              }
              out.problems.push(...r.warnings.map((w) => relabel(w, entity)));
              if (r.problem) {
                out.problems.push(relabel(r.problem, entity));
                if (r.id !== null) out.invalidIds.push(r.id);
                continue;
              }
              for (const rec of r.records) {
                if (rec.entity === entity)
                  out.records.push({ entity: rec.entity, sourceId: rec.id, data: rec.data });
              }
            }
            yield out;
          }
        }
      },
    };
  }
}

function lastId(items: Record<string, unknown>[]): string | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const id = items[i]?.id;
    if (typeof id === 'string') return id;
  }
  return null;
}

/** User problems are reported under the entity of the stream that met them. */
function relabel(p: RunProblem, entity: Entity): RunProblem {
  return p.entity === 'users' ? { ...p, entity } : p;
}

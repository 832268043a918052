// Small HTTP helpers for the simulator tests: real requests over 127.0.0.1, no mocks.
import type { CleverSimulator, SimulatorOptions } from 'rostersync/simulator';
import { startCleverSimulator } from 'rostersync/simulator';
import type { z } from 'zod';
import type { schoolSchema, sectionV31, userV31 } from './clever-schemas.js';

export type User = z.infer<typeof userV31>;
export type Section = z.infer<typeof sectionV31>;
export type School = z.infer<typeof schoolSchema>;
/** Any served record: an id plus fields the test reads by name. */
export type Rec = { id: string } & Record<string, unknown>;

export interface CleverEvent {
  id: string;
  type: string;
  created: string;
  data: { object: Rec; previous_attributes?: Record<string, unknown> };
}

export interface Link {
  rel: 'next' | 'prev' | 'self';
  uri: string;
}

export interface Page<T> {
  data: Array<{ data: T; uri: string }>;
  links: Link[];
}

export interface Single<T> {
  data: T;
  links: Link[];
}

export interface ErrorBody {
  message: string;
}

export interface Got<B> {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body (null when it is not JSON); typed by the caller. */
  body: B;
}

export async function get<B = Page<Rec>>(
  sim: { url: string },
  path: string,
  token: string | null,
): Promise<Got<B>> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(sim.url + path, { headers });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. an HTML page): body stays null
  }
  return { status: res.status, headers: res.headers, text, body: body as B };
}

export function linkOf(body: { links: Link[] }, rel: Link['rel']): string | undefined {
  return body.links.find((l) => l.rel === rel)?.uri;
}

/** Follows links.next from `path` and returns every item's data plus the pages seen. */
export async function walk<T = Rec>(
  sim: { url: string },
  path: string,
  token: string,
): Promise<{ items: T[]; pages: number; uris: string[] }> {
  const items: T[] = [];
  const uris: string[] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next) {
    const r: Got<Page<T>> = await get<Page<T>>(sim, next, token);
    if (r.status !== 200) throw new Error(`GET ${next} -> ${r.status} ${r.text.slice(0, 200)}`);
    for (const it of r.body.data) {
      items.push(it.data);
      uris.push(it.uri);
    }
    pages++;
    next = linkOf(r.body, 'next');
  }
  return { items, pages, uris };
}

/** Follows links.prev from an ending_before=... start and returns the items in ascending order. */
export async function walkBack<T = Rec>(sim: { url: string }, path: string, token: string): Promise<T[]> {
  const pages: T[][] = [];
  let prev: string | undefined = path;
  while (prev) {
    const r: Got<Page<T>> = await get<Page<T>>(sim, prev, token);
    if (r.status !== 200) throw new Error(`GET ${prev} -> ${r.status}`);
    pages.unshift(r.body.data.map((it) => it.data));
    prev = linkOf(r.body, 'prev');
  }
  return pages.flat();
}

export interface Dump {
  users: Map<string, string>;
  sections: Map<string, string>;
  schools: Map<string, string>;
  terms: Map<string, string>;
  courses: Map<string, string>;
}

/** Every record the district serves, id → JSON, through the list endpoints. */
export async function dump(sim: { url: string }, token: string, version = 'v3.1'): Promise<Dump> {
  const out = {} as Dump;
  for (const c of ['users', 'sections', 'schools', 'terms', 'courses'] as const) {
    const { items } = await walk(sim, `/${version}/${c}?limit=10000`, token);
    out[c] = new Map(items.map((it) => [it.id, JSON.stringify(it)]));
  }
  return out;
}

export async function withSim<T>(
  opts: SimulatorOptions,
  fn: (sim: CleverSimulator) => Promise<T>,
): Promise<T> {
  const sim = await startCleverSimulator({ rateLimit: { limit: 1_000_000, windowMs: 60_000 }, ...opts });
  try {
    return await fn(sim);
  } finally {
    await sim.close();
  }
}

export function sorted(ids: string[]): boolean {
  for (let i = 1; i < ids.length; i++) if ((ids[i - 1] as string) >= (ids[i] as string)) return false;
  return true;
}

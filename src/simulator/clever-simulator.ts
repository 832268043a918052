import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyDay } from './change-days.js';
import { DataApi } from './data-api.js';
import type { ApiVersion, UserSession } from './data-api.js';
import { DistrictModel } from './district-model.js';
import { EventLog } from './event-log.js';
import { FaultInjector } from './faults.js';
import { computeTruth } from './ground-truth.js';
import { PLACE_NAMES } from './names.js';
import { OAuthService } from './oauth.js';
import type { HttpResult } from './oauth.js';
import { faultOptionsSchema, normaliseFaults, resolveOptions } from './options.js';
import { mix32 } from './prng.js';
import { RateLimiter } from './rate-limiter.js';
import type {
  CleverSimulator,
  DayKind,
  DayRecord,
  FaultOptions,
  GroundTruth,
  SimulatorOptions,
} from './types.js';

// The HTTP front: node:http with no framework, one handler that routes on the path prefix.
//   /v3.0/*, /v3.1/*  Data API (bearer token; rate limited; faults apply here only)
//   /oauth/*          token listing, Instant Login authorize page and code exchange
//   /userinfo         OIDC-style identity of an Instant Login token
//   /__sim/*          local control endpoints (no auth: bind the simulator to localhost only):
//                     advance, truth, faults, and codes (Instant Login codes in bulk)

const JSON_TYPE = 'application/json; charset=utf-8';
const DAY_KINDS: readonly DayKind[] = ['normal', 'rollover', 'bad_sharing', 'rekey'];
const MAX_BODY = 1 << 20;

function derive(seed: number, what: string, length: number): string {
  return createHash('sha256').update(`rostersync-clever-sim|${seed}|${what}`).digest('hex').slice(0, length);
}

function placeName(seed: number, i: number): string {
  const n = PLACE_NAMES.length;
  const base = PLACE_NAMES[(mix32(seed) + i) % n] as string;
  return i >= n ? `${base} ${Math.floor(i / n) + 1}` : base;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
  truncate = false,
): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'Content-Type': JSON_TYPE, ...headers, 'Content-Length': String(buf.length) });
  if (!truncate) {
    res.end(buf);
    return;
  }
  // Fault: announce the full length, deliver part of it, then drop the connection.
  const cut = Math.max(1, Math.floor(buf.length / 2));
  res.write(buf.subarray(0, cut), () => res.destroy());
}

function sendResult(res: ServerResponse, r: HttpResult): void {
  send(res, r.status, r.body, r.headers);
}

function parseIntParam(
  params: URLSearchParams,
  name: string,
  dflt: number,
  min: number,
  max: number,
): number | string {
  const raw = params.get(name);
  if (raw === null || raw === '') return dflt;
  if (!/^\d+$/.test(raw)) return `${name} must be an integer`;
  const n = Number(raw);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}`;
  return n;
}

/**
 * Starts a local Clever API simulator. Defaults: seed 1, one district of 6 schools and 1000
 * students, quirks on, faults off, 1200 requests/minute per token, 127.0.0.1 on an ephemeral port.
 */
export async function startCleverSimulator(opts: SimulatorOptions = {}): Promise<CleverSimulator> {
  const o = resolveOptions(opts);
  const seed = o.shape.seed;
  const models = Array.from(
    { length: o.districts },
    (_, i) => new DistrictModel(o.shape, i, placeName(seed, i)),
  );
  const logs = models.map(() => new EventLog());
  const apis = models.map((m, i) => new DataApi(m, logs[i] as EventLog, o.events));
  const tokens = models.map((_, i) =>
    i === 0 && o.token !== undefined ? o.token : derive(seed, `district-token-${i}`, 40),
  );
  const clientId = o.clientId ?? derive(seed, 'client-id', 20);
  const clientSecret = o.clientSecret ?? derive(seed, 'client-secret', 40);
  const tokenDistrict = new Map(tokens.map((t, i) => [t, i]));
  const oauth = new OAuthService(
    clientId,
    clientSecret,
    models.map((model, i) => ({ model, token: tokens[i] as string })),
    o.now,
  );
  const limiter = new RateLimiter(o.rateLimit.limit, o.rateLimit.windowMs, o.now);
  const faults = new FaultInjector(o.faults, o.now);
  const timers = new Set<NodeJS.Timeout>();
  let requests = 0;

  const districtIndex = (i: number | undefined): number => {
    const d = i ?? 0;
    if (!Number.isInteger(d) || d < 0 || d >= models.length) throw new RangeError(`no district ${d}`);
    return d;
  };

  const advance = (days = 1, kind: DayKind = 'normal', district?: number): DayRecord[] => {
    if (!Number.isInteger(days) || days < 0) throw new RangeError('days must be a non-negative integer');
    if (!DAY_KINDS.includes(kind)) throw new RangeError(`unknown day kind ${String(kind)}`);
    const d = districtIndex(district);
    const out: DayRecord[] = [];
    for (let n = 0; n < days; n++) out.push(applyDay(models[d] as DistrictModel, kind, logs[d] as EventLog));
    return out;
  };

  const truth = (district?: number): GroundTruth =>
    computeTruth(models[districtIndex(district)] as DistrictModel);

  const setFaults = (f: FaultOptions | null): void => {
    faults.set(f === null ? null : normaliseFaults(f));
  };

  /** Resolves a bearer token to a district (district token) or a user session (Instant Login). */
  const authenticate = (
    req: IncomingMessage,
  ): { token: string; district: number; user: UserSession | null } | null => {
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return null;
    const token = h.slice(7).trim();
    const d = tokenDistrict.get(token);
    if (d !== undefined) return { token, district: d, user: null };
    const user = oauth.userTokens.get(token);
    if (user) return { token, district: user.district, user };
    return null;
  };

  const serveData = (
    req: IncomingMessage,
    res: ServerResponse,
    version: ApiVersion,
    segments: string[],
    params: URLSearchParams,
    truncate: boolean,
  ): void => {
    const auth = authenticate(req);
    if (!auth) {
      send(
        res,
        401,
        JSON.stringify({ message: 'Unauthorized: a valid bearer token is required' }),
        limiter.peek('anonymous'),
        truncate,
      );
      return;
    }
    const rate = limiter.take(auth.token);
    if (!rate.allowed) {
      send(res, 429, JSON.stringify({ message: 'Too Many Requests' }), rate.headers, truncate);
      return;
    }
    const api = apis[auth.district] as DataApi;
    const r = api.handle({ version, segments, params, user: auth.user });
    send(res, r.status, r.body, rate.headers, truncate);
  };

  const data = (
    req: IncomingMessage,
    res: ServerResponse,
    version: ApiVersion,
    rest: string,
    params: URLSearchParams,
  ): void => {
    // Every Data API answer describes the caller's rate-limit window, even those that do not count.
    const quota = (): Record<string, string> => limiter.peek(authenticate(req)?.token ?? 'anonymous');
    if (req.method !== 'GET') {
      send(res, 405, JSON.stringify({ message: 'Method not allowed' }), quota());
      return;
    }
    let segments: string[];
    try {
      segments = rest
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    } catch {
      send(res, 400, JSON.stringify({ message: 'Malformed path' }), quota());
      return;
    }
    const fault = faults.next();
    if (fault) {
      switch (fault.kind) {
        case '500':
        case '502':
        case '503':
          send(
            res,
            Number(fault.kind),
            JSON.stringify({ message: 'Internal Error (simulated fault)' }),
            quota(),
          );
          return;
        case '429':
          send(
            res,
            429,
            JSON.stringify({ message: 'Too Many Requests (simulated fault)' }),
            limiter.headers(0, fault.resetMs),
          );
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'slow': {
          const t = setTimeout(() => {
            timers.delete(t);
            if (!res.destroyed) serveData(req, res, version, segments, params, false);
          }, faults.slowMs);
          timers.add(t);
          return;
        }
        case 'truncated':
          serveData(req, res, version, segments, params, true);
          return;
      }
    }
    serveData(req, res, version, segments, params, false);
  };

  const control = async (
    req: IncomingMessage,
    res: ServerResponse,
    action: string,
    params: URLSearchParams,
  ): Promise<void> => {
    const bad = (message: string): void => send(res, 400, JSON.stringify({ message }));
    const district = parseIntParam(params, 'district', 0, 0, models.length - 1);
    if (typeof district === 'string') return bad(district);
    if (action === 'advance') {
      if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: 'use POST' }));
      const days = parseIntParam(params, 'days', 1, 0, 3650);
      if (typeof days === 'string') return bad(days);
      const kind = (params.get('kind') ?? 'normal') as DayKind;
      if (!DAY_KINDS.includes(kind)) return bad(`kind must be one of ${DAY_KINDS.join(', ')}`);
      return send(res, 200, JSON.stringify(advance(days, kind, district)));
    }
    if (action === 'truth') {
      if (req.method !== 'GET') return send(res, 405, JSON.stringify({ message: 'use GET' }));
      return send(res, 200, JSON.stringify(truth(district)));
    }
    if (action === 'faults') {
      if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: 'use POST' }));
      let parsed: unknown;
      try {
        const body = await readBody(req);
        parsed = body.trim() === '' ? null : JSON.parse(body);
      } catch {
        return bad('body must be JSON: FaultOptions or null');
      }
      if (parsed === null) {
        setFaults(null);
        return send(res, 200, JSON.stringify({ faults: null }));
      }
      const f = faultOptionsSchema.safeParse(parsed);
      if (!f.success) return bad(`invalid FaultOptions: ${f.error.issues.map((i) => i.message).join('; ')}`);
      const normalised = normaliseFaults(f.data);
      setFaults(normalised);
      return send(res, 200, JSON.stringify({ faults: normalised }));
    }
    if (action === 'codes') {
      if (req.method !== 'POST') return send(res, 405, JSON.stringify({ message: 'use POST' }));
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readBody(req));
      } catch {
        return bad('body must be JSON: {redirect_uri, logins: [{user, role?}]}');
      }
      return sendResult(res, oauth.mintCodes(district, parsed));
    }
    send(res, 404, JSON.stringify({ message: 'unknown control endpoint' }));
  };

  const oauthRoute = async (
    req: IncomingMessage,
    res: ServerResponse,
    action: string,
    params: URLSearchParams,
  ): Promise<void> => {
    if (action === 'tokens' && req.method === 'GET')
      return sendResult(res, oauth.listTokens(params, req.headers.authorization));
    if (action === 'tokens' && req.method === 'POST') {
      const body = await readBody(req);
      return sendResult(res, oauth.exchange(body, req.headers['content-type'], req.headers.authorization));
    }
    if (action === 'authorize' && req.method === 'GET') return sendResult(res, oauth.authorize(params));
    send(res, 404, JSON.stringify({ message: 'Not found' }));
  };

  const userinfo = (req: IncomingMessage, res: ServerResponse): void => {
    const auth = authenticate(req);
    if (!auth?.user) {
      send(
        res,
        401,
        JSON.stringify({ message: 'Unauthorized: an Instant Login token is required' }),
        limiter.peek('anonymous'),
      );
      return;
    }
    const rate = limiter.take(auth.token);
    if (!rate.allowed) return send(res, 429, JSON.stringify({ message: 'Too Many Requests' }), rate.headers);
    const r = oauth.userinfo(auth.user);
    send(res, r.status, r.body, { ...r.headers, ...rate.headers });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const v = /^\/(v3\.[01])(\/.*)?$/.exec(pathname);
    if (v) return data(req, res, v[1] as ApiVersion, v[2] ?? '', params);
    if (pathname.startsWith('/__sim/'))
      return control(req, res, pathname.slice(7).replace(/\/$/, ''), params);
    if (pathname.startsWith('/oauth/'))
      return oauthRoute(req, res, pathname.slice(7).replace(/\/$/, ''), params);
    if (pathname === '/userinfo') return userinfo(req, res);
    send(res, 404, JSON.stringify({ message: 'Not found' }));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Programmer errors surface as 500 with a message; the simulator never logs request data.
      if (!res.headersSent)
        send(res, 500, JSON.stringify({ message: err instanceof Error ? err.message : 'error' }));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;

  return {
    url,
    token: tokens[0] as string,
    districts: models.map((m, i) => ({ id: m.id, name: m.name, token: tokens[i] as string })),
    clientId,
    clientSecret,
    advance,
    truth,
    setFaults,
    requestCount: () => requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

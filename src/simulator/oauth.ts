import { randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { UserSession } from './data-api.js';
import type { DistrictModel } from './district-model.js';
import { COLL, dayStamp, isoAt } from './ids.js';
import { renderUser } from './render.js';
import type { Json } from './render.js';
import { ROLES } from './types.js';
import type { Role } from './types.js';

// Clever's OAuth surface, reduced to what an app needs against a local simulator:
// - GET  /oauth/tokens?owner_type=district (HTTP Basic app credentials): every district's token;
// - GET  /oauth/authorize: a small test page to pick a user, then a redirect with a one-minute,
//        single-use code (Instant Login);
// - POST /oauth/tokens: code → user token; GET /userinfo: OIDC-style identity of that token;
// - POST /__sim/codes (control): many codes at once, for load tests.

/** Instant Login codes live one minute, like Clever's. */
export const CODE_TTL_MS = 60_000;

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface OAuthDistrict {
  model: DistrictModel;
  token: string;
}

interface PendingCode {
  district: number;
  userKey: number;
  role: Role;
  redirectUri: string;
  clientId: string;
  expiresAt: number;
  used: boolean;
}

/** Most codes one POST /__sim/codes mints (its body stays well under the simulator's 1 MB limit). */
export const MAX_MINTED_CODES = 10_000;

const mintRequestSchema = z
  .object({
    redirect_uri: z.string().min(1),
    logins: z
      .array(
        z.object({ user: z.string().min(1).max(64), role: z.enum(ROLES as [Role, ...Role[]]).optional() }),
      )
      .min(1)
      .max(MAX_MINTED_CODES),
  })
  .strict();

const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };

function jsonResult(status: number, obj: unknown): HttpResult {
  return { status, headers: { ...JSON_TYPE }, body: JSON.stringify(obj) };
}

function oauthError(status: number, error: string, description: string): HttpResult {
  return jsonResult(status, { error, error_description: description });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class OAuthService {
  private readonly codes = new Map<string, PendingCode>();
  readonly userTokens = new Map<string, UserSession>();

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly districts: readonly OAuthDistrict[],
    private readonly now: () => number,
  ) {}

  /** True when an Authorization header carries this app's HTTP Basic credentials. */
  checkBasic(header: string | undefined): boolean {
    if (!header || !header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    return (
      safeEqual(decoded.slice(0, colon), this.clientId) &&
      safeEqual(decoded.slice(colon + 1), this.clientSecret)
    );
  }

  /** GET /oauth/tokens?owner_type=district (or ?district=<id>). */
  listTokens(params: URLSearchParams, auth: string | undefined): HttpResult {
    if (!this.checkBasic(auth)) return oauthError(401, 'invalid_client', 'bad client credentials');
    const district = params.get('district');
    const owner = params.get('owner_type');
    if (district === null && owner !== 'district')
      return oauthError(400, 'invalid_request', 'owner_type must be district');
    const rows = this.districts
      .filter((d) => district === null || d.model.id === district)
      .map((d) => ({
        id: d.model.codec.encode(COLL.district, 1 + d.model.index),
        created: isoAt(dayStamp(0)),
        owner: { type: 'district', id: d.model.id },
        access_token: d.token,
        scopes: [
          'read:district_admins',
          'read:school_admins',
          'read:sections',
          'read:students',
          'read:teachers',
          'read:user_id',
        ],
      }));
    const q = params.toString();
    return jsonResult(200, { data: rows, links: [{ rel: 'self', uri: `/oauth/tokens${q ? `?${q}` : ''}` }] });
  }

  /** GET /oauth/authorize: the login test page, or with login_as=<user id> the redirect with a code. */
  authorize(params: URLSearchParams): HttpResult {
    const clientId = params.get('client_id') ?? '';
    const redirectUri = params.get('redirect_uri') ?? '';
    if (params.get('response_type') !== 'code') return this.page(400, 'response_type must be code');
    if (!safeEqual(clientId, this.clientId)) return this.page(400, 'unknown client_id');
    let target: URL;
    try {
      target = new URL(redirectUri);
    } catch {
      return this.page(400, 'redirect_uri must be an absolute URL');
    }
    const districtId = params.get('district_id');
    const d = districtId ? this.districts.find((x) => x.model.id === districtId) : this.districts[0];
    if (!d) return this.page(404, 'unknown district_id');
    const m = d.model;
    const loginAs = params.get('login_as');
    if (loginAs !== null) {
      const key = m.codec.decode(COLL.user, loginAs);
      if (key === null || !m.userAlive(key, m.day)) return this.page(404, 'unknown user');
      const roles = m.userRoles(key);
      const asked = params.get('login_role');
      const role = asked !== null && roles.includes(asked as Role) ? (asked as Role) : (roles[0] as Role);
      target.searchParams.set('code', this.issueCode(m, key, role, redirectUri));
      const state = params.get('state');
      if (state !== null) target.searchParams.set('state', state);
      return {
        status: 302,
        headers: { Location: target.toString(), 'Content-Type': 'text/plain' },
        body: '',
      };
    }
    return this.page(200, null, d, params);
  }

  /**
   * POST /__sim/codes?district=I (a control endpoint, no auth): one Instant Login code per login,
   * in order, as if each user had picked themselves on the authorize page, so a load test can
   * collect thousands of codes in a few requests. A login names a user and optionally one of the
   * user's roles (default its first); an unknown or unshared user or a role it does not hold fails
   * the whole request. Codes live CODE_TTL_MS, like those of /oauth/authorize.
   */
  mintCodes(district: number, body: unknown): HttpResult {
    const parsed = mintRequestSchema.safeParse(body);
    if (!parsed.success)
      return jsonResult(400, {
        message: `invalid request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      });
    const { redirect_uri: redirectUri, logins } = parsed.data;
    try {
      new URL(redirectUri);
    } catch {
      return jsonResult(400, { message: 'redirect_uri must be an absolute URL' });
    }
    const d = this.districts[district];
    if (!d) return jsonResult(404, { message: 'unknown district' });
    const m = d.model;
    const picked: Array<{ key: number; role: Role }> = [];
    for (const [i, login] of logins.entries()) {
      const key = m.codec.decode(COLL.user, login.user);
      if (key === null || !m.userAlive(key, m.day))
        return jsonResult(400, { message: `logins.${i}: unknown user` });
      const roles = m.userRoles(key);
      if (login.role !== undefined && !roles.includes(login.role))
        return jsonResult(400, { message: `logins.${i}: the user does not hold role ${login.role}` });
      picked.push({ key, role: login.role ?? (roles[0] as Role) });
    }
    return jsonResult(200, { codes: picked.map((p) => this.issueCode(m, p.key, p.role, redirectUri)) });
  }

  private issueCode(m: DistrictModel, userKey: number, role: Role, redirectUri: string): string {
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, {
      district: m.index,
      userKey,
      role,
      redirectUri,
      clientId: this.clientId,
      expiresAt: this.now() + CODE_TTL_MS,
      used: false,
    });
    return code;
  }

  private page(
    status: number,
    error: string | null,
    d?: OAuthDistrict,
    params?: URLSearchParams,
  ): HttpResult {
    const parts = [
      '<!doctype html><html><head><meta charset="utf-8"><title>Clever simulator: log in</title></head><body>',
    ];
    parts.push('<h1>Clever simulator &mdash; Instant Login</h1>');
    if (error) parts.push(`<p class="error">${escapeHtml(error)}</p>`);
    if (d && params) {
      const m = d.model;
      parts.push(`<p>District: ${escapeHtml(m.name)}</p>`);
      if (this.districts.length > 1) {
        parts.push('<p>Other districts: ');
        for (const x of this.districts) {
          const p = new URLSearchParams(params);
          p.set('district_id', x.model.id);
          parts.push(
            `<a href="/oauth/authorize?${escapeHtml(p.toString())}">${escapeHtml(x.model.name)}</a> `,
          );
        }
        parts.push('</p>');
      }
      for (const role of ROLES) {
        parts.push(`<h2>${escapeHtml(role)}</h2><ul>`);
        const it = m.usersSource(role, m.day).asc(-1);
        for (let n = 0, r = it.next(); n < 5 && !r.done; n++, r = it.next()) {
          const u = renderUser(m, r.value, m.day, false);
          if (!u) continue;
          const name = u.name as { first?: string | null; last?: string | null };
          const p = new URLSearchParams(params);
          p.set('district_id', m.id);
          p.set('login_as', u.id as string);
          p.set('login_role', role);
          const label = `${name.first ?? ''} ${name.last ?? ''}`.trim();
          parts.push(
            `<li><a class="login" data-role="${role}" data-user="${escapeHtml(u.id as string)}" href="/oauth/authorize?${escapeHtml(p.toString())}">${escapeHtml(label)}</a></li>`,
          );
        }
        parts.push('</ul>');
      }
    }
    parts.push('</body></html>');
    return { status, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: parts.join('') };
  }

  /** POST /oauth/tokens: exchanges an Instant Login code for a user token. */
  exchange(body: string, contentType: string | undefined, auth: string | undefined): HttpResult {
    if (!this.checkBasic(auth)) return oauthError(401, 'invalid_client', 'bad client credentials');
    let fields: Record<string, string> = {};
    try {
      if ((contentType ?? '').includes('application/json')) {
        const parsed: unknown = JSON.parse(body || '{}');
        if (parsed && typeof parsed === 'object') {
          for (const [k, v] of Object.entries(parsed as Record<string, unknown>))
            if (typeof v === 'string') fields[k] = v;
        }
      } else {
        fields = Object.fromEntries(new URLSearchParams(body));
      }
    } catch {
      return oauthError(400, 'invalid_request', 'body is not valid JSON');
    }
    if (fields.grant_type !== 'authorization_code')
      return oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code');
    const code = fields.code;
    if (!code) return oauthError(400, 'invalid_request', 'code is required');
    const pending = this.codes.get(code);
    if (!pending) return oauthError(400, 'invalid_grant', 'invalid code');
    if (pending.used) return oauthError(400, 'invalid_grant', 'code already used');
    pending.used = true;
    if (this.now() >= pending.expiresAt) return oauthError(400, 'invalid_grant', 'code expired');
    if (fields.redirect_uri !== undefined && fields.redirect_uri !== pending.redirectUri)
      return oauthError(400, 'invalid_grant', 'redirect_uri does not match');
    const token = randomBytes(20).toString('hex');
    this.userTokens.set(token, { district: pending.district, userKey: pending.userKey, role: pending.role });
    this.pruneCodes();
    return jsonResult(200, { access_token: token, token_type: 'bearer' });
  }

  private pruneCodes(): void {
    const now = this.now();
    for (const [code, c] of this.codes) if (now - c.expiresAt > CODE_TTL_MS) this.codes.delete(code);
  }

  /** GET /userinfo for an Instant Login token. */
  userinfo(session: UserSession): HttpResult {
    const d = this.districts[session.district];
    if (!d) return jsonResult(401, { message: 'invalid token' });
    const m = d.model;
    const u = renderUser(m, session.userKey, m.day, false);
    if (!u) return jsonResult(401, { message: 'User is no longer shared' });
    const name = u.name as { first: string | null; middle: string | null; last: string | null };
    const role = (u.roles as Record<string, Json>)[session.role];
    const legacy = role && typeof role.legacy_id === 'string' ? role.legacy_id : (u.id as string);
    return jsonResult(200, {
      sub: u.id,
      user_id: legacy,
      multi_role_user_id: u.id,
      user_type: session.role,
      district: m.id,
      email: u.email ?? null,
      name: { first: name.first ?? '', middle: name.middle ?? '', last: name.last ?? '' },
      given_name: name.first ?? '',
      family_name: name.last ?? '',
      email_verified: false,
    });
  }
}

import { request } from 'undici';
import { isCleverLoginRole as isRole } from '../model/login-role.js';
import type { CleverLoginRole } from '../model/login-role.js';
import { RostersyncError } from '../shared/errors.js';

export interface CleverSignInOptions {
  /** Where `/oauth/tokens` lives (Clever: `https://clever.com`). */
  oauthUrl: string;
  /** The API host of `/me` and `/userinfo` (Clever: `https://api.clever.com`). */
  apiUrl: string;
  apiVersion: string;
  clientId: string;
  clientSecret: string;
  /** Per-request timeout (ms). Default 10000: a person is waiting on the callback. */
  timeoutMs?: number;
}

/** Who a Clever login is. */
export interface CleverLoginIdentity {
  /** The v3 user id (the Data API's `User.id`): the join key onto accounts. */
  userId: string;
  /** Clever's district id. */
  districtId: string;
  /** The role this login was made in; null when Clever did not say. */
  role: CleverLoginRole | null;
}

/**
 * The calls a Clever sign-in callback makes: the code exchange, then who the user is. Errors are
 * typed: `input` (the code was rejected: reused, expired or unknown), `auth` (the app's credentials
 * were rejected), `upstream` (unreachable or failing), `bad_response`. Codes and tokens never
 * appear in messages.
 */
export class CleverSignIn {
  constructor(private readonly opts: CleverSignInOptions) {}

  private async call(
    url: URL,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; body: unknown }> {
    const timeout = this.opts.timeoutMs ?? 10_000;
    let res;
    try {
      res = await request(url, { ...init, headersTimeout: timeout, bodyTimeout: timeout });
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new RostersyncError(
        'upstream',
        `clever ${url.host}${url.pathname}: unreachable (${code ?? (err as Error).message})`,
        { cause: err },
      );
    }
    const text = await res.body.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // Left null: the status decides, and a 200 without JSON is reported below.
    }
    return { status: res.statusCode, body };
  }

  /** POST /oauth/tokens (HTTP Basic): the user's access token for an authorization code. */
  async exchangeCode(code: string, redirectUri: string): Promise<string> {
    const url = new URL('/oauth/tokens', this.opts.oauthUrl);
    const basic = Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString('base64');
    const res = await this.call(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${basic}`,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({ code, grant_type: 'authorization_code', redirect_uri: redirectUri }),
    });
    const error = (res.body as { error?: unknown } | null)?.error;
    if (res.status === 400 && error === 'invalid_grant')
      throw new RostersyncError('input', `clever ${url.host}: the authorization code was rejected`);
    if (res.status === 401 || res.status === 403 || error === 'invalid_client')
      throw new RostersyncError('auth', `clever ${url.host}: the app's client id and secret were rejected`);
    if (res.status !== 200)
      throw new RostersyncError('upstream', `clever ${url.host}: /oauth/tokens answered HTTP ${res.status}`);
    const token = (res.body as { access_token?: unknown } | null)?.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RostersyncError('bad_response', `clever ${url.host}: /oauth/tokens gave no access token`);
    return token;
  }

  /**
   * Who the token's user is: `/me`, and `/userinfo` where `/me` leaves the role or district open
   * (a multi-role user's `/me` may name no single role; `/userinfo` reports the one used to log in).
   */
  async identify(token: string): Promise<CleverLoginIdentity> {
    const auth = { authorization: `Bearer ${token}`, accept: 'application/json' };
    const meUrl = new URL(`/${this.opts.apiVersion}/me`, this.opts.apiUrl);
    const me = await this.call(meUrl, { method: 'GET', headers: auth });
    if (me.status === 401 || me.status === 403)
      throw new RostersyncError('auth', `clever ${meUrl.host}: /me rejected the user's token`);
    if (me.status !== 200)
      throw new RostersyncError('upstream', `clever ${meUrl.host}: /me answered HTTP ${me.status}`);
    const data = (me.body as { data?: Record<string, unknown> } | null)?.data;
    let userId = typeof data?.id === 'string' ? data.id : null;
    let districtId = typeof data?.district === 'string' ? data.district : null;
    let role = isRole(data?.type) ? data.type : null;
    if (userId === null || districtId === null || role === null) {
      const infoUrl = new URL('/userinfo', this.opts.apiUrl);
      const info = await this.call(infoUrl, { method: 'GET', headers: auth });
      if (info.status === 200 && info.body !== null && typeof info.body === 'object') {
        const i = info.body as Record<string, unknown>;
        const infoUser = i.multi_role_user_id ?? i.sub;
        const infoDistrict = i.district ?? i.district_id;
        userId ??= typeof infoUser === 'string' ? infoUser : null;
        districtId ??= typeof infoDistrict === 'string' ? infoDistrict : null;
        role ??= isRole(i.user_type) ? i.user_type : null;
      }
    }
    if (userId === null || districtId === null)
      throw new RostersyncError('bad_response', `clever ${meUrl.host}: /me names no user or district`);
    return { userId, districtId, role };
  }
}

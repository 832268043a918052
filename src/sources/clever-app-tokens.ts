import { request } from 'undici';
import { RostersyncError } from '../shared/errors.js';

/** One district that authorised the app, with its current bearer token. */
export interface DistrictToken {
  /** Clever's district id. */
  cleverDistrictId: string;
  token: string;
}

export interface AppCredentials {
  /** Clever API host (the OAuth endpoints live on the same host in the simulator). */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Per-request timeout (ms). Default 30000. */
  timeoutMs?: number;
}

/**
 * The districts that authorised the app and their current tokens (`GET /oauth/tokens?owner_type=district`,
 * HTTP Basic with the app's credentials), or one district's (`?district=<id>`). Tokens rotate, so a
 * run asks for its district's token when it starts. Throws `auth` when Clever rejects the app's
 * credentials, `upstream` when Clever cannot be reached or fails. Tokens are never put in messages.
 */
export async function fetchDistrictTokens(
  creds: AppCredentials,
  cleverDistrictId?: string,
): Promise<DistrictToken[]> {
  const url = new URL('/oauth/tokens', creds.baseUrl);
  if (cleverDistrictId !== undefined) url.searchParams.set('district', cleverDistrictId);
  else url.searchParams.set('owner_type', 'district');
  const basic = Buffer.from(`${creds.clientId}:${creds.clientSecret}`).toString('base64');
  let res;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { authorization: `Basic ${basic}`, accept: 'application/json' },
      headersTimeout: creds.timeoutMs ?? 30_000,
      bodyTimeout: creds.timeoutMs ?? 30_000,
    });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new RostersyncError(
      'upstream',
      `clever ${url.host}: cannot list the app's district tokens (${code ?? (err as Error).message})`,
      { cause: err },
    );
  }
  const text = await res.body.text();
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new RostersyncError(
      'auth',
      `clever ${url.host}: the app's client id and secret were rejected (HTTP ${res.statusCode})`,
    );
  }
  if (res.statusCode !== 200) {
    throw new RostersyncError(
      'upstream',
      `clever ${url.host}: /oauth/tokens answered HTTP ${res.statusCode}`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new RostersyncError('bad_response', `clever ${url.host}: /oauth/tokens did not answer JSON`, {
      cause: err,
    });
  }
  const data = (body as { data?: unknown }).data;
  if (!Array.isArray(data))
    throw new RostersyncError('bad_response', `clever ${url.host}: /oauth/tokens has no data`);
  const out: DistrictToken[] = [];
  for (const item of data as Array<Record<string, unknown>>) {
    const owner = item.owner as { type?: unknown; id?: unknown } | undefined;
    const token = item.access_token;
    if (owner?.type === 'district' && typeof owner.id === 'string' && typeof token === 'string')
      out.push({ cleverDistrictId: owner.id, token });
  }
  return out;
}

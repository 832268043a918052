import fastifyCookie from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { signInWithClever } from '../../accounts/sign-in.js';
import type { ServiceMetrics } from '../../jobs/service-metrics.js';
import { isRostersyncError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { CleverSignIn } from '../../sources/clever-sign-in.js';
import type { CleverLoginIdentity } from '../../sources/clever-sign-in.js';
import type { SecretBox } from '../../store/secrets.js';
import type { Store } from '../../store/store.js';
import { signAssertion } from './assertion.js';
import { PAGE_CSP, REFUSAL_REASONS, refusalPage, signedInPage } from './pages.js';
import type { RefusalReason } from './pages.js';
import { loadAssertionKey } from './signing-key.js';
import { cookieScope, finishLogin, startLogin } from './state-cookie.js';

/** What Clever sign-in needs (see `sso.*` and `clever.*` in config.ts). */
export interface CleverSignInConfig {
  clientId: string;
  clientSecret: string;
  /** Clever's OAuth host (`clever.oauthUrl`). */
  oauthUrl: string;
  /** Clever's API host of `/me` and `/userinfo` (`clever.url`). */
  apiUrl: string;
  apiVersion: string;
  /** The public URL of our callback (`sso.redirectUri`). */
  redirectUri: string;
  /** Where a signed-in browser goes (`sso.appUrl`); null: a page shows who signed in. */
  appUrl: string | null;
  /** `sso.signingKey`; null: a generated key kept in the store. */
  signingKey: string | null;
}

export interface CleverSignInPluginOptions {
  store: Store;
  metrics: ServiceMetrics;
  logger: Logger;
  config: CleverSignInConfig;
  /** The box that keeps a generated signing key; asked only when no signingKey is configured. */
  secretBox: () => SecretBox;
  /** Clock (epoch ms) for the login-state cookie. Default Date.now. */
  now?: () => number;
}

const loginQuery = z.object({ district: z.string().min(1).max(200).optional() });
const callbackQuery = z.object({
  code: z.string().min(1).max(2048).optional(),
  state: z.string().min(1).max(512).optional(),
  error: z.string().max(200).optional(),
});

/**
 * Clever single sign-on onto the provisioned accounts:
 * - `GET /auth/clever/login[?district=ID]` sends the browser to Clever with a `state` bound to it
 *   by a short-lived signed cookie;
 * - `GET /auth/clever/callback` exchanges the code, asks Clever who it is, signs in the account
 *   (accounts/sign-in.ts) and sends the browser to `sso.appUrl` with a 60 s signed assertion;
 * - `GET /.well-known/jwks.json` serves the public key that assertions verify with.
 * Refusals are pages with a reason code, logged (ids and codes only) and counted.
 * Logins that start in the Clever portal arrive with no state: they are accepted.
 * The only redirects go to the configured Clever host and the configured app URL.
 */
export const cleverSignInPlugin: FastifyPluginAsync<CleverSignInPluginOptions> = async (app, opts) => {
  const { store, metrics, logger, config } = opts;
  const now = opts.now ?? Date.now;
  const key = await loadAssertionKey({ signingKey: config.signingKey, store, secretBox: opts.secretBox });
  await app.register(fastifyCookie, { secret: key.cookieSecret });
  const clever = new CleverSignIn({
    oauthUrl: config.oauthUrl,
    apiUrl: config.apiUrl,
    apiVersion: config.apiVersion,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
  });
  const scope = cookieScope(config.redirectUri);
  const issuer = new URL(config.redirectUri).origin;
  const audience = config.appUrl !== null ? new URL(config.appUrl).origin : null;

  const refuse = (
    reply: FastifyReply,
    reason: RefusalReason,
    context: { district?: string | null; account?: string | null; error?: string } = {},
  ): FastifyReply => {
    metrics.signInRefused(reason);
    logger.info({ sso: 'refused', reason, ...context }, 'clever sign-in refused');
    return reply
      .code(REFUSAL_REASONS[reason].status)
      .header('cache-control', 'no-store')
      .header('content-security-policy', PAGE_CSP)
      .type('text/html; charset=utf-8')
      .send(refusalPage(reason));
  };

  /** Maps a failed call to Clever to a refusal (the code, the app's credentials, or Clever itself). */
  const cleverFailure = (reply: FastifyReply, err: unknown): FastifyReply => {
    if (isRostersyncError(err, 'input')) return refuse(reply, 'code_rejected');
    if (isRostersyncError(err, 'auth'))
      return refuse(reply, 'clever_credentials_rejected', { error: errorMessage(err) });
    if (isRostersyncError(err)) return refuse(reply, 'clever_unavailable', { error: errorMessage(err) });
    throw err;
  };

  app.addHook('onSend', async (_req, reply) => {
    reply.header('referrer-policy', 'no-referrer');
  });

  app.get('/auth/clever/login', async (req, reply) => {
    const q = loginQuery.safeParse(req.query);
    if (!q.success) return refuse(reply, 'district_not_configured');
    const district = q.data.district ?? null;
    let cleverDistrictId: string | null = null;
    if (district !== null) {
      const row = await store.districts.get(district);
      if (!row?.cleverDistrictId) return refuse(reply, 'district_not_configured', { district });
      cleverDistrictId = row.cleverDistrictId;
    }
    const state = startLogin(reply, scope, district, now());
    const target = new URL('/oauth/authorize', config.oauthUrl);
    target.searchParams.set('response_type', 'code');
    target.searchParams.set('client_id', config.clientId);
    target.searchParams.set('redirect_uri', config.redirectUri);
    target.searchParams.set('state', state);
    if (cleverDistrictId !== null) target.searchParams.set('district_id', cleverDistrictId);
    return reply.header('cache-control', 'no-store').redirect(target.toString(), 302);
  });

  app.get('/auth/clever/callback', async (req, reply) => {
    const q = callbackQuery.safeParse(req.query);
    if (!q.success) return refuse(reply, 'missing_code');
    const { code, state, error } = q.data;
    let expectedDistrict: string | null = null;
    if (state !== undefined) {
      const started = finishLogin(req, reply, scope, state, now());
      if (started === null) return refuse(reply, 'state_mismatch');
      expectedDistrict = started.district;
    }
    if (error !== undefined) return refuse(reply, 'authorization_denied');
    if (code === undefined) return refuse(reply, 'missing_code');

    let who: CleverLoginIdentity;
    try {
      const token = await clever.exchangeCode(code, config.redirectUri);
      who = await clever.identify(token);
    } catch (err) {
      return cleverFailure(reply, err);
    }
    const result = await signInWithClever(store, {
      cleverDistrictId: who.districtId,
      cleverUserId: who.userId,
      role: who.role,
      expectedDistrict,
    });
    if (!result.ok)
      return refuse(reply, result.reason, { district: result.district, account: result.accountId });

    const { account, district } = result;
    metrics.signedIn();
    logger.info({ sso: 'signed_in', district, account: account.id, kind: account.kind }, 'clever sign-in');
    reply.header('cache-control', 'no-store');
    if (config.appUrl === null) {
      return reply
        .header('content-security-policy', PAGE_CSP)
        .type('text/html; charset=utf-8')
        .send(
          signedInPage({
            name: account.name,
            accountId: account.id,
            kind: account.kind,
            roles: account.roles,
            district,
          }),
        );
    }
    const assertion = await signAssertion(key, {
      account,
      district,
      cleverUserId: who.userId,
      loginRole: who.role,
      issuer,
      audience,
    });
    const target = new URL(config.appUrl);
    target.searchParams.set('assertion', assertion);
    return reply.redirect(target.toString(), 302);
  });

  app.get('/.well-known/jwks.json', (_req, reply) =>
    reply.header('cache-control', 'public, max-age=300').send({ keys: [key.publicJwk] }),
  );
};

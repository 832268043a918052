import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { JWK } from 'jose';
import { RostersyncError } from '../../shared/errors.js';
import type { SecretBox } from '../../store/secrets.js';
import type { Store } from '../../store/store.js';

/** The key that signs sign-in assertions, and what is derived from it. */
export interface AssertionKey {
  kid: string;
  /** JWS algorithm: RS256, ES256, ES384 or EdDSA. */
  alg: string;
  privateKey: KeyObject;
  /** The public half as the JWKS lists it (with kid, alg, use). */
  publicJwk: JWK;
  /**
   * A secret for signing the login-state cookie, derived from the private key so every serving
   * process that shares the key accepts the cookies of the others.
   */
  cookieSecret: string;
}

/** Name of the generated key in the store. */
const GENERATED_KEY = 'sso-assertion';

function algorithmOf(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'RS256';
  if (type === 'ed25519') return 'EdDSA';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return 'ES256';
    if (curve === 'secp384r1') return 'ES384';
  }
  throw new RostersyncError(
    'config',
    'sso.signingKey: must be an RSA, P-256, P-384 or Ed25519 private key (PEM or JWK)',
  );
}

function parsePrivateKey(text: string): KeyObject {
  const v = text.trim();
  try {
    if (v.startsWith('{')) return createPrivateKey({ key: JSON.parse(v) as JsonWebKey, format: 'jwk' });
    return createPrivateKey(v);
  } catch (err) {
    throw new RostersyncError('config', 'sso.signingKey: not a private key in PEM or JWK form', {
      cause: err,
    });
  }
}

async function describe(privateKey: KeyObject): Promise<AssertionKey> {
  const alg = algorithmOf(privateKey);
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(pub);
  const secretMaterial = JSON.stringify(privateKey.export({ format: 'jwk' }));
  const cookieSecret = createHash('sha256')
    .update('rostersync sign-in state cookie\0')
    .update(secretMaterial)
    .digest('base64url');
  return { kid, alg, privateKey, publicJwk: { ...pub, kid, alg, use: 'sig' }, cookieSecret };
}

/**
 * The assertion key: `sso.signingKey` when configured; otherwise a P-256 key generated once and kept
 * in the store, encrypted with the secretKey (`secretBox` is asked only then, and throws `config`
 * when there is no secretKey to keep it with).
 */
export async function loadAssertionKey(opts: {
  signingKey: string | null;
  store: Store;
  secretBox: () => SecretBox;
}): Promise<AssertionKey> {
  if (opts.signingKey !== null) return describe(parsePrivateKey(opts.signingKey));
  const stored = await opts.store.signingKeys.getOrCreate(GENERATED_KEY, opts.secretBox(), () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = pair.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    return calculateJwkThumbprint(publicJwk as JWK).then((kid) => ({
      kid,
      algorithm: 'ES256',
      publicJwk,
      privateJwk: pair.privateKey.export({ format: 'jwk' }),
    }));
  });
  return describe(createPrivateKey({ key: stored.privateJwk as JsonWebKey, format: 'jwk' }));
}

import type { Kysely } from 'kysely';
import type { DB } from '../schema.js';
import type { SecretBox } from '../secrets.js';

/** Row type of migration 0010's `signing_keys` (kept here: only this repository reads it). */
type DbSigningKey = {
  name: string;
  kid: string;
  algorithm: string;
  public_jwk: string;
  private_ciphertext: string;
  secret_key_id: string;
  created_at: string;
};

type SigningKeyTables = { signing_keys: DbSigningKey };

/** A key pair as JWKs (JSON objects), with its `kid` and JWS algorithm. */
export interface StoredKeyPair {
  kid: string;
  algorithm: string;
  publicJwk: Record<string, unknown>;
  privateJwk: Record<string, unknown>;
  createdAt: string;
}

/**
 * Key pairs the server generated for itself, by name, the private half encrypted with the
 * configured secretKey. The first process to store a name wins; the others read its key.
 */
export class SigningKeysRepo {
  private readonly db: Kysely<DB & SigningKeyTables>;

  constructor(
    db: Kysely<DB>,
    private readonly now: () => string,
  ) {
    this.db = db.withTables<SigningKeyTables>();
  }

  /**
   * The key stored under `name`; when there is none, stores `generate()`'s. Safe from several
   * processes at once: a key written first by another process is the one returned.
   * Throws `config` when the stored key was encrypted with another secretKey.
   */
  async getOrCreate(
    name: string,
    box: SecretBox,
    generate: () => Promise<Omit<StoredKeyPair, 'createdAt'>>,
  ): Promise<StoredKeyPair> {
    const found = await this.read(name, box);
    if (found) return found;
    const k = await generate();
    await this.db
      .insertInto('signing_keys')
      .values({
        name,
        kid: k.kid,
        algorithm: k.algorithm,
        public_jwk: JSON.stringify(k.publicJwk),
        private_ciphertext: box.encrypt(JSON.stringify(k.privateJwk)),
        secret_key_id: box.keyId,
        created_at: this.now(),
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.read(name, box))!;
  }

  private async read(name: string, box: SecretBox): Promise<StoredKeyPair | undefined> {
    const r = await this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!r) return undefined;
    return {
      kid: r.kid,
      algorithm: r.algorithm,
      publicJwk: JSON.parse(r.public_jwk) as Record<string, unknown>,
      privateJwk: JSON.parse(box.decrypt(r.private_ciphertext, r.secret_key_id)) as Record<string, unknown>,
      createdAt: r.created_at,
    };
  }
}

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { RostersyncError } from '../shared/errors.js';

/**
 * AES-256-GCM for secrets at rest (district tokens). The ciphertext is `v1.<iv>.<tag>.<data>` in
 * base64url; the key id stored beside it is a short fingerprint of the key, so a rotated key is
 * detected (and reported) instead of producing garbage.
 */
export class SecretBox {
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new RostersyncError('config', 'secretKey: must be 32 bytes (base64 or hex)');
    this.key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 12);
  }

  /** Parses a key given as 64 hex characters or base64 of 32 bytes. */
  static fromString(value: string): SecretBox {
    const v = value.trim();
    const buf = /^[0-9a-f]{64}$/i.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
    return new SecretBox(buf);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return ['v1', iv.toString('base64url'), tag.toString('base64url'), data.toString('base64url')].join('.');
  }

  decrypt(ciphertext: string, keyId: string | null): string {
    if (keyId !== null && keyId !== this.keyId) {
      throw new RostersyncError(
        'config',
        `secretKey: the stored secret was encrypted with key ${keyId}, not ${this.keyId}`,
      );
    }
    const [v, iv, tag, data] = ciphertext.split('.');
    if (v !== 'v1' || !iv || !tag || data === undefined)
      throw new RostersyncError('config', 'stored secret is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (err) {
      throw new RostersyncError('config', 'stored secret cannot be decrypted with the configured secretKey', {
        cause: err,
      });
    }
  }
}

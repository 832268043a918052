import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { districtConfigSchema } from './model/district-config.js';
import { scheduleSchema } from './model/schedule.js';
import { RostersyncError } from './shared/errors.js';

/**
 * The one configuration schema. Values come from, lowest precedence first:
 * the defaults below ← `rostersync.yaml` in the working directory (or `ROSTERSYNC_CONFIG`) ← environment
 * variables `ROSTERSYNC_*` ← command-line flags (applied by the CLI). It is validated once at start
 * and passed in; nothing reads the environment at import time.
 */
export const configSchema = z
  .object({
    /** SQLite file path or `postgres://` URL. Default `./rostersync.db`. */
    database: z.string().min(1).default('./rostersync.db'),
    /** pino level: fatal, error, warn, info, debug, trace, silent. Default `info`. */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * 32-byte key (base64 or 64 hex chars) that encrypts stored district tokens (AES-256-GCM).
     * Required only to store tokens. No default.
     */
    secretKey: z.string().optional(),
    clever: z
      .object({
        /** API host. Default `https://api.clever.com`. */
        url: z.string().url().default('https://api.clever.com'),
        /**
         * Host of Clever's OAuth endpoints (`/oauth/authorize`, `/oauth/tokens`) for sign-in.
         * Default `https://clever.com`.
         */
        oauthUrl: z.string().url().default('https://clever.com'),
        /** `v3.0` or `v3.1`. Default `v3.0` (v3.1 access may need to be requested from Clever). */
        apiVersion: z.enum(['v3.0', 'v3.1']).default('v3.0'),
        /** District bearer token; usually given per run with --clever-token. */
        token: z.string().optional(),
        /**
         * The Clever app's credentials: with both, `districts discover` lists the districts that
         * authorised the app, and each run fetches its district's current token. No default.
         */
        clientId: z.string().optional(),
        clientSecret: z.string().optional(),
        /**
         * Records per page, 1–10000 (Clever's maximum). Default 2000: memory grows with the pages in
         * flight (a parsed page holds all its users, and several streams read ahead), while 2000
         * keeps a 1M-student district well inside the request budget.
         */
        pageSize: z.number().int().min(1).max(10_000).default(2000),
        /**
         * Our own budget per token per minute. Clever allows 1200; we keep headroom for other
         * callers of the same token (SSO lookups, a second tool). Default 1000.
         */
        requestsPerMinute: z.number().int().min(1).max(1200).default(1000),
        /** Requests in flight per token. Default 4. */
        concurrency: z.number().int().min(1).max(32).default(4),
        /** Per-request timeout in ms (headers and body). Default 60000. */
        timeoutMs: z.number().int().min(100).default(60_000),
        /** Retries of one request (5xx, 429, resets, timeouts, truncated bodies). Default 8. */
        maxRetries: z.number().int().min(0).max(50).default(8),
        /**
         * Time budget (ms) for one request's retries, from its first attempt; past it the run fails
         * and says so. Default none: scheduled runs wait out an outage. Interactive `sync` uses
         * `--max-retry-time` (default 30 s) when this is not set.
         */
        maxRetryTimeMs: z.number().int().min(1).optional(),
        /**
         * Parse, map and hash pages in a worker thread, beside the main thread's reconcile and
         * writes. Default true; false keeps everything on the main thread.
         */
        decodeInWorker: z.boolean().default(true),
      })
      .strict()
      .default({
        url: 'https://api.clever.com',
        oauthUrl: 'https://clever.com',
        apiVersion: 'v3.0',
        pageSize: 2000,
        requestsPerMinute: 1000,
        concurrency: 4,
        timeoutMs: 60_000,
        maxRetries: 8,
        decodeInWorker: true,
      }),
    sync: z
      .object({
        /** A district lock whose holder has not written for this long (ms) is taken over. Default 600000. */
        lockStaleMs: z.number().int().min(1000).default(600_000),
        /**
         * `sync --mode auto` (and scheduled runs) sync in full when the last full sync began this many
         * days ago or more, so that drift the events missed is caught; 0: every auto run is full.
         * Default 7 (weekly).
         */
        fullSyncEveryDays: z.number().min(0).default(7),
      })
      .strict()
      .default({ lockStaleMs: 600_000, fullSyncEveryDays: 7 }),
    service: z
      .object({
        /** Districts run at once by `serve` (embedded) or by one `worker`. Default 2. */
        concurrency: z.number().int().min(1).max(256).default(2),
        /** Zone of schedules that name none (IANA, e.g. `America/Chicago`). Default `UTC`. */
        timezone: z.string().min(1).default('UTC'),
        /**
         * Workers (pg-boss): a job whose worker went silent this long (s) is retried elsewhere.
         * The district lock keeps a retry from running beside a live run. Default 1800.
         */
        jobExpireSeconds: z.number().int().min(1).default(1800),
        /** Workers: retries of a transient failure, with exponential backoff. Default 8. */
        retryLimit: z.number().int().min(0).default(8),
        /** Workers: first retry delay (s). Default 30. */
        retryDelaySeconds: z.number().int().min(0).default(30),
        /** How often `serve` looks into the drop folders of CSV districts (ms). Default 5000. */
        csvPollMs: z.number().int().min(10).default(5000),
        /** A CSV drop is imported once its files have been unchanged this long (ms). Default 15000. */
        csvSettleMs: z.number().int().min(0).default(15_000),
      })
      .strict()
      .default({
        concurrency: 2,
        timezone: 'UTC',
        jobExpireSeconds: 1800,
        retryLimit: 8,
        retryDelaySeconds: 30,
        csvPollMs: 5000,
        csvSettleMs: 15_000,
      }),
    api: z
      .object({
        /**
         * Requests per minute per API key on /api/v1 (a 429 past it, with `retry-after`). Default
         * 6000 (100 a second).
         */
        rateLimitPerMinute: z.number().int().min(1).default(6000),
      })
      .strict()
      .default({ rateLimitPerMinute: 6000 }),
    /**
     * Clever single sign-on onto the provisioned accounts (`serve`). On when `clever.clientId`,
     * `clever.clientSecret` and `redirectUri` are all set.
     */
    sso: z
      .object({
        /** The public URL of `/auth/clever/callback`, as registered with the Clever app. No default. */
        redirectUri: z.string().url().optional(),
        /**
         * Where a signed-in user is sent, with the assertion as `?assertion=<JWT>`. No default: a
         * page then shows who signed in.
         */
        appUrl: z.string().url().optional(),
        /**
         * The private key that signs assertions (PEM, or a JWK as JSON; RSA, P-256 or Ed25519).
         * No default: a P-256 key is generated once and kept in the store, encrypted with `secretKey`.
         */
        signingKey: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
    server: z
      .object({
        /**
         * The address people open the server at (e.g. `https://rostersync.example.org`), used in
         * the links `admins create` prints; session cookies are `Secure` when it is https. Default
         * `http://localhost:<port>` of `serve` (8080).
         */
        publicUrl: z.string().url().optional(),
      })
      .strict()
      .default({}),
    /**
     * Per-district settings keyed by district id, applied to the store at start. `schedule` is kept
     * apart from the sync settings (see store/migrations/0007-service.ts), and so is `csvFolder`, the
     * drop folder that makes it a CSV district (0008-csv-districts.ts).
     */
    districts: z
      .record(
        z.string(),
        districtConfigSchema.extend({
          schedule: scheduleSchema.optional(),
          csvFolder: z.string().min(1).optional(),
        }),
      )
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

/** Environment variables and the key each sets. Numbers are parsed; anything else stays text. */
const ENV_KEYS: ReadonlyArray<[string, string[], 'string' | 'number']> = [
  ['ROSTERSYNC_DATABASE_URL', ['database'], 'string'],
  ['ROSTERSYNC_DATABASE', ['database'], 'string'],
  ['ROSTERSYNC_LOG_LEVEL', ['logLevel'], 'string'],
  ['ROSTERSYNC_SECRET_KEY', ['secretKey'], 'string'],
  ['ROSTERSYNC_CLEVER_URL', ['clever', 'url'], 'string'],
  ['ROSTERSYNC_CLEVER_OAUTH_URL', ['clever', 'oauthUrl'], 'string'],
  ['ROSTERSYNC_CLEVER_API_VERSION', ['clever', 'apiVersion'], 'string'],
  ['ROSTERSYNC_CLEVER_TOKEN', ['clever', 'token'], 'string'],
  ['ROSTERSYNC_CLEVER_CLIENT_ID', ['clever', 'clientId'], 'string'],
  ['ROSTERSYNC_CLEVER_CLIENT_SECRET', ['clever', 'clientSecret'], 'string'],
  ['ROSTERSYNC_CLEVER_PAGE_SIZE', ['clever', 'pageSize'], 'number'],
  ['ROSTERSYNC_CLEVER_REQUESTS_PER_MINUTE', ['clever', 'requestsPerMinute'], 'number'],
  ['ROSTERSYNC_CLEVER_CONCURRENCY', ['clever', 'concurrency'], 'number'],
  ['ROSTERSYNC_CLEVER_TIMEOUT_MS', ['clever', 'timeoutMs'], 'number'],
  ['ROSTERSYNC_CLEVER_MAX_RETRIES', ['clever', 'maxRetries'], 'number'],
  ['ROSTERSYNC_CLEVER_MAX_RETRY_TIME_MS', ['clever', 'maxRetryTimeMs'], 'number'],
  ['ROSTERSYNC_SYNC_LOCK_STALE_MS', ['sync', 'lockStaleMs'], 'number'],
  ['ROSTERSYNC_SYNC_FULL_SYNC_EVERY_DAYS', ['sync', 'fullSyncEveryDays'], 'number'],
  ['ROSTERSYNC_SERVICE_CONCURRENCY', ['service', 'concurrency'], 'number'],
  ['ROSTERSYNC_SERVICE_TIMEZONE', ['service', 'timezone'], 'string'],
  ['ROSTERSYNC_SERVICE_JOB_EXPIRE_SECONDS', ['service', 'jobExpireSeconds'], 'number'],
  ['ROSTERSYNC_SERVICE_RETRY_LIMIT', ['service', 'retryLimit'], 'number'],
  ['ROSTERSYNC_SERVICE_RETRY_DELAY_SECONDS', ['service', 'retryDelaySeconds'], 'number'],
  ['ROSTERSYNC_SERVICE_CSV_POLL_MS', ['service', 'csvPollMs'], 'number'],
  ['ROSTERSYNC_SERVICE_CSV_SETTLE_MS', ['service', 'csvSettleMs'], 'number'],
  ['ROSTERSYNC_SSO_REDIRECT_URI', ['sso', 'redirectUri'], 'string'],
  ['ROSTERSYNC_SSO_APP_URL', ['sso', 'appUrl'], 'string'],
  ['ROSTERSYNC_SSO_SIGNING_KEY', ['sso', 'signingKey'], 'string'],
  ['ROSTERSYNC_API_RATE_LIMIT_PER_MINUTE', ['api', 'rateLimitPerMinute'], 'number'],
  ['ROSTERSYNC_SERVER_PUBLIC_URL', ['server', 'publicUrl'], 'string'],
];

/** Variables whose value may instead be read from a file named by `<NAME>_FILE` (container secrets). */
const FILE_VARIANTS = new Set([
  'ROSTERSYNC_SECRET_KEY',
  'ROSTERSYNC_CLEVER_TOKEN',
  'ROSTERSYNC_CLEVER_CLIENT_ID',
  'ROSTERSYNC_CLEVER_CLIENT_SECRET',
  'ROSTERSYNC_DATABASE_URL',
  'ROSTERSYNC_SSO_SIGNING_KEY',
]);

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

export interface LoadConfigOptions {
  /** Environment to read. Pass `process.env` from the entry point. */
  env: Record<string, string | undefined>;
  /** Explicit YAML path; default `ROSTERSYNC_CONFIG` or `./rostersync.yaml` when present. */
  file?: string;
  /** Highest-precedence values (command-line flags), as a partial config object. */
  overrides?: Record<string, unknown>;
}

/**
 * Builds the configuration: defaults ← YAML file ← environment ← overrides, then validates it once.
 * Throws a `config` error whose message names every bad key (e.g. `clever.pageSize: …`).
 */
export function loadConfig(opts: LoadConfigOptions): Config {
  const raw: Record<string, unknown> = {};
  const file =
    opts.file ??
    opts.env.ROSTERSYNC_CONFIG ??
    (existsSync('rostersync.yaml') ? 'rostersync.yaml' : undefined);
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new RostersyncError('config', `${file}: cannot read configuration: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new RostersyncError('config', `${file}: the top level must be a mapping of keys`);
      }
      Object.assign(raw, parsed);
    }
  }
  for (const [name, path, type] of ENV_KEYS) {
    let value = opts.env[name];
    const fileVar = opts.env[`${name}_FILE`];
    if (value === undefined && fileVar !== undefined && FILE_VARIANTS.has(name)) {
      try {
        value = readFileSync(fileVar, 'utf8').trim();
      } catch (err) {
        throw new RostersyncError('config', `${name}_FILE: cannot read ${fileVar}`, { cause: err });
      }
    }
    if (value === undefined || value === '') continue;
    if (type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n))
        throw new RostersyncError('config', `${name} (${path.join('.')}): "${value}" is not a number`);
      setPath(raw, path, n);
    } else {
      setPath(raw, path, value);
    }
  }
  for (const [key, value] of Object.entries(opts.overrides ?? {})) {
    if (value !== undefined) setPath(raw, key.split('.'), value);
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const key = i.path.length > 0 ? i.path.join('.') : '(top level)';
      return `${key}: ${i.message}`;
    });
    throw new RostersyncError(
      'config',
      `invalid configuration${file ? ` (${file} and environment)` : ''}:\n  ${lines.join('\n  ')}`,
    );
  }
  return result.data;
}

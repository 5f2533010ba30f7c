/**
 * The coordinator's configuration: read once from the environment at the edge, validated,
 * and passed down as this typed object. Nothing below `server.ts` reads `process.env`.
 */
import { join } from 'node:path'
import { MAX_CHUNKS_PER_FILE, MAX_FILE_SIZE, MAX_PATH_BYTES, MiB } from '../protocol/constants.ts'

export interface S3Config {
  bucket: string
  region: string
  endpoint: string | undefined
  accessKeyId: string | undefined
  secretAccessKey: string | undefined
  forcePathStyle: boolean
  /** Create the bucket at start if it is missing (a fresh S3-compatible store). */
  createBucket: boolean
}

export interface Limits {
  /** Largest file a manifest may describe (default 64 GiB, so 50 GB files fit). */
  maxFileSize: number
  /** Most chunks one manifest may list. */
  maxChunks: number
  /** Longest path in UTF-8 bytes (never above the protocol's MAX_PATH_BYTES). */
  maxPathBytes: number
  /** Largest request body; a 65,536-chunk manifest is ~17 MiB of JSON. */
  bodyLimit: number
  /** Upload sessions one device may hold open at once (more: 429). */
  maxOpenSessionsPerDevice: number
  /** Chunk rows one account's open sessions may name at once (more: 429). */
  maxPendingChunksPerAccount: number
}

export interface Config {
  host: string
  /** 0 picks a free port (tests). */
  port: number
  /** Embedded PGlite, local blobs and the coordinator key live here; undefined = in memory. */
  dataDir: string | undefined
  databaseUrl: string | undefined
  redisUrl: string | undefined
  /** S3 when a bucket is set; otherwise the local-disk (or, with no data dir, memory) store. */
  s3: S3Config | undefined
  /** Where devices reach this coordinator (signed blob URLs); default: the listen address. */
  publicUrl: string | undefined
  /** Coordinator Ed25519 private key (base64 PKCS#8); else kept in DATA_DIR or made per process. */
  coordinatorKey: string | undefined
  /** Local blob store: HMAC key of its signed URLs; else derived from the coordinator key. */
  blobSigningSecret: string | undefined
  /** Bearer token for operator routes (`/admin`); else kept in DATA_DIR or made per process. */
  operatorToken: string | undefined
  limits: Limits
  /** How long an upload session stays open (its chunk URLs are renewed on each status call). */
  uploadSessionTtlMs: number
  /** Lifetime of presigned chunk URLs. */
  presignTtlSeconds: number
  /** How often each device WebSocket is pinged; one that has not answered the previous ping
   * is dropped (its device goes offline). */
  wsPingMs: number
  /** How long a credential's device is remembered per instance (unlinking still stops it at
   * once: the revocation is published to every instance); 0 = look it up on every request. */
  credentialCacheMs: number
  /** Lifetime of a link token from `createAccount` or `POST /devices/invite`. */
  linkTokenTtlMs: number
  /** Lifetime of a device certificate; linked devices renew theirs at half of it. */
  certificateTtlMs: number
  /** `/metrics` answers only with the operator token unless this is set (docs/SECURITY.md). */
  metricsPublic: boolean
  /** How long an unreferenced chunk survives before garbage collection. */
  gcGraceMs: number
  /** How often this instance runs garbage collection; 0 = never (tests call runGc). */
  gcIntervalMs: number
  /**
   * The undelete window: how long a deleted or overwritten version stays restorable before
   * the collector may drop it and then its chunks (docs/DESIGN.md "Version retention").
   */
  versionRetentionMs: number
  /** `account` (default): dedup within an account; `global`: across accounts (trades privacy). */
  dedupDomain: 'account' | 'global'
  /** The operator's global domain secret, base64 of 32 bytes (required with `global`). */
  globalDomainSecret: string | undefined
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
}

type Env = Record<string, string | undefined>

/** Thrown at start with every problem listed, so one run shows them all. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`)
    this.problems = problems
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Reads and checks the environment. `defaults` (host, port, data dir, log level) lets the CLI choose port 8080 and a data
 * directory while tests keep 127.0.0.1:0 in memory.
 */
export function loadConfig(env: Env = {}, defaults: Partial<Config> = {}): Config {
  const problems: string[] = []
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`)
      return fallback
    }
    return n
  }
  const str = (name: string): string | undefined => env[name]?.trim() || undefined
  const url = (name: string): string | undefined => {
    const raw = str(name)
    if (raw === undefined) return undefined
    try {
      new URL(raw)
    } catch {
      problems.push(`${name}=${JSON.stringify(raw)} is not a URL`)
      return undefined
    }
    return raw
  }
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name)
    if (raw === undefined) return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    problems.push(`${name}=${JSON.stringify(raw)} must be one of ${allowed.join(', ')}`)
    return fallback
  }

  const bucket = str('S3_BUCKET')
  const config: Config = {
    host: str('HOST') ?? defaults.host ?? '127.0.0.1',
    port: int('PORT', defaults.port ?? 0, 0, 65_535),
    dataDir: str('DATA_DIR') ?? defaults.dataDir,
    databaseUrl: url('DATABASE_URL'),
    redisUrl: url('REDIS_URL'),
    s3: bucket
      ? {
          bucket,
          region: str('S3_REGION') ?? 'us-east-1',
          endpoint: url('S3_ENDPOINT'),
          accessKeyId: str('S3_ACCESS_KEY_ID'),
          secretAccessKey: str('S3_SECRET_ACCESS_KEY'),
          forcePathStyle: ['true', '1'].includes(
            oneOf('S3_FORCE_PATH_STYLE', ['true', 'false', '1', '0'], 'false'),
          ),
          createBucket: ['true', '1'].includes(
            oneOf('S3_CREATE_BUCKET', ['true', 'false', '1', '0'], 'false'),
          ),
        }
      : undefined,
    publicUrl: url('PUBLIC_URL'),
    coordinatorKey: str('COORDINATOR_KEY'),
    blobSigningSecret: str('BLOB_SIGNING_SECRET'),
    operatorToken: str('OPERATOR_TOKEN'),
    limits: {
      maxFileSize: int('MAX_FILE_SIZE', MAX_FILE_SIZE, 0, MAX_FILE_SIZE),
      maxChunks: int('MAX_CHUNKS', MAX_CHUNKS_PER_FILE, 1, MAX_CHUNKS_PER_FILE),
      maxPathBytes: int('MAX_PATH_BYTES', MAX_PATH_BYTES, 1, MAX_PATH_BYTES),
      bodyLimit: int('BODY_LIMIT', 24 * MiB, 1024, 256 * MiB),
      maxOpenSessionsPerDevice: int('MAX_OPEN_SESSIONS_PER_DEVICE', 64, 1, 100_000),
      maxPendingChunksPerAccount: int(
        'MAX_PENDING_CHUNKS_PER_ACCOUNT',
        4 * MAX_CHUNKS_PER_FILE,
        1,
        1_000_000_000,
      ),
    },
    uploadSessionTtlMs: int('UPLOAD_SESSION_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600) * 1000,
    presignTtlSeconds: int('PRESIGN_TTL_SECONDS', 3600, 10, 7 * 24 * 3600),
    credentialCacheMs: int('CREDENTIAL_CACHE_MS', 5_000, 0, 60_000),
    wsPingMs: int('WS_PING_SECONDS', 30, 1, 3600) * 1000,
    linkTokenTtlMs: int('LINK_TOKEN_TTL_SECONDS', 24 * 3600, 60, 30 * 24 * 3600) * 1000,
    certificateTtlMs: int('CERTIFICATE_TTL_SECONDS', 12 * 3600, 60, 30 * 24 * 3600) * 1000,
    metricsPublic: ['true', '1'].includes(
      oneOf('METRICS_PUBLIC', ['true', 'false', '1', '0'], 'false'),
    ),
    gcGraceMs: int('GC_GRACE_SECONDS', 24 * 3600, 0, 365 * 24 * 3600) * 1000,
    gcIntervalMs:
      int('GC_INTERVAL_SECONDS', (defaults.gcIntervalMs ?? 600_000) / 1000, 0, 7 * 24 * 3600) *
      1000,
    versionRetentionMs: int('VERSION_RETENTION_DAYS', 30, 0, 36_500) * 86_400_000,
    dedupDomain: oneOf('DEDUP_DOMAIN', ['account', 'global'], 'account'),
    globalDomainSecret: str('GLOBAL_DOMAIN_SECRET'),
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, defaults.logLevel ?? 'info'),
  }
  if (config.dedupDomain === 'global') {
    const secret = config.globalDomainSecret
    if (!secret || Buffer.from(secret, 'base64').length !== 32 || secret.length !== 44) {
      problems.push('DEDUP_DOMAIN=global needs GLOBAL_DOMAIN_SECRET: base64 of 32 random bytes')
    }
  }
  if (config.blobSigningSecret && Buffer.byteLength(config.blobSigningSecret) < 16) {
    problems.push('BLOB_SIGNING_SECRET must be at least 16 bytes')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/** Test defaults: loopback, free port, everything in memory, no logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}, { logLevel: 'silent', gcIntervalMs: 0 }), ...overrides }
}

/** Where the embedded backends keep their files under the data directory. */
export function dataPaths(dataDir: string) {
  return {
    database: join(dataDir, 'metadata'),
    blobs: join(dataDir, 'blobs'),
    coordinatorKey: join(dataDir, 'coordinator-key.json'),
    operatorToken: join(dataDir, 'operator-token'),
  }
}

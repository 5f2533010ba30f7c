import Type, { type Static } from 'typebox'
import { ERROR_CODES, type ErrorCode } from '../errors.ts'

/**
 * Building blocks shared by the HTTP and WebSocket schemas. Every integer is bounded and
 * every string has a length limit, so a handler never sees a negative count or a 1 GB name.
 */

/** Ids of files, upload sessions, devices and accounts: lowercase canonical UUIDs. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
export const Uuid = Type.String({ pattern: UUID_PATTERN, minLength: 36, maxLength: 36 })
export const FileId = Uuid
export const SessionId = Uuid
export const DeviceId = Uuid
export const AccountId = Uuid

/** Largest integer JSON carries exactly in JavaScript; bounds versions and sequence numbers. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** A file's version: 1 for the first commit, +1 for each later one (a delete included). */
export const Version = Type.Integer({ minimum: 1, maximum: MAX_SAFE })
/** A change-log position; 0 means "before the first change". */
export const Cursor = Type.Integer({ minimum: 0, maximum: MAX_SAFE })
/** A change's sequence number in its account's log (gapless, from 1). */
export const Seq = Type.Integer({ minimum: 1, maximum: MAX_SAFE })

/** An instant as ISO 8601 with an explicit zone, as `Date.prototype.toISOString` writes it. */
export const IsoDateTime = Type.String({
  pattern: String.raw`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$`,
  minLength: 20,
  maxLength: 35,
})

/** Standard base64 with padding. */
export const Base64 = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', minLength: options.minLength ?? 0, ...options })

/** An Ed25519 public key: standard base64 of the raw 32 bytes (44 characters). */
export const Ed25519PublicKey = Type.String({
  pattern: '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$',
  minLength: 44,
  maxLength: 44,
})

/** An opaque secret token (link tokens, credentials): base64url without padding. */
export const Token = Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 16, maxLength: 512 })

/** A libp2p peer id in its usual string form (base58btc, `12D3KooW…` for Ed25519 keys). */
export const PeerId = Type.String({
  pattern: '^[1-9A-HJ-NP-Za-km-z]+$',
  minLength: 32,
  maxLength: 128,
})

/** A multiaddr in string form, e.g. `/ip4/192.168.1.5/tcp/4001/p2p/12D3KooW…`. */
export const Multiaddr = Type.String({
  pattern: '^/[\\x21-\\x7e]+$',
  minLength: 2,
  maxLength: 1024,
})
export const Addresses = Type.Array(Multiaddr, { maxItems: 32 })

/** A human-chosen name (device names): no control characters. */
export const DisplayName = Type.String({
  pattern: '^[^\\u0000-\\u001f\\u007f]+$',
  minLength: 1,
  maxLength: 64,
})

/** Absolute http(s) URL: presigned S3 URLs or the embedded store's signed URLs. */
export const HttpUrl = Type.String({ pattern: '^https?://', minLength: 8, maxLength: 8192 })

/** Error codes from errors.ts, so a client can branch on them. */
export const ErrorCodeSchema = Type.Enum(Object.keys(ERROR_CODES) as ErrorCode[])

export const ErrorDetail = Type.Object(
  {
    code: ErrorCodeSchema,
    message: Type.String({ maxLength: 4096 }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
)
export type ErrorDetail = Static<typeof ErrorDetail>

/** The body of every HTTP error answer (`CloudsyncError.toJSON()`). */
export const ErrorBody = Type.Object({ error: ErrorDetail }, { additionalProperties: false })
export type ErrorBody = Static<typeof ErrorBody>

/** For routes that take no body but are sent `{}` by clients. */
export const EmptyBody = Type.Object({}, { additionalProperties: false })
export type EmptyBody = Static<typeof EmptyBody>

/** Page size of list queries. */
export const PAGE_LIMIT_DEFAULT = 100
export const PAGE_LIMIT_MAX = 1000
export const PageLimit = Type.Integer({
  minimum: 1,
  maximum: PAGE_LIMIT_MAX,
  default: PAGE_LIMIT_DEFAULT,
})

/** An opaque position in a listing (`next` of one page, `cursor` of the following). */
export const PageToken = Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 1024 })

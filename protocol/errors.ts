/**
 * Typed errors with stable codes. Every boundary (HTTP, WebSocket, peer-to-peer, CLI) maps
 * these codes to its own form, so a client can branch on `code` and a person can read
 * `message`.
 */

export const ERROR_CODES = {
  // Input that fails validation: a schema, a manifest, a path.
  INVALID_INPUT: { status: 400, message: 'Invalid input' },
  INVALID_PATH: { status: 400, message: 'Invalid path' },
  INVALID_MANIFEST: { status: 400, message: 'Invalid manifest' },
  TOO_LARGE: { status: 413, message: 'Too large' },
  // Chunk bytes that are not what they claim to be.
  CHUNK_CORRUPT: { status: 422, message: 'Chunk bytes do not match their id' },
  DECRYPT_FAILED: { status: 422, message: 'Chunk failed authentication' },
  // Identity and access.
  UNAUTHENTICATED: { status: 401, message: 'Missing or unknown credential' },
  FORBIDDEN: { status: 403, message: 'Not allowed' },
  BAD_SIGNATURE: { status: 403, message: 'Bad or expired signature' },
  // State.
  NOT_FOUND: { status: 404, message: 'Not found' },
  CONFLICT: { status: 409, message: 'Conflict' },
  STALE_BASE: { status: 409, message: 'Base version is not the current version' },
  INCOMPLETE_UPLOAD: { status: 409, message: 'Upload is missing chunks' },
  /** A file where a folder is, or a folder where a file is (`a` and `a/b`). */
  PATH_CLASH: { status: 409, message: 'A file and a folder would share a path' },
  GONE: { status: 410, message: 'Expired' },
  /** A per-device or per-account limit: finish (or let expire) what is open first. */
  TOO_MANY: { status: 429, message: 'Too many open at once' },
  BUSY: { status: 503, message: 'Busy, try again' },
  /** A source that could not answer in time or went away: try another one. */
  UNAVAILABLE: { status: 503, message: 'Unavailable, try another source' },
  INTERNAL: { status: 500, message: 'Internal error' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class CloudsyncError extends Error {
  override readonly name = 'CloudsyncError'
  readonly code: ErrorCode
  readonly status: number
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? ERROR_CODES[code].message)
    this.code = code
    this.status = ERROR_CODES[code].status
    this.details = details
  }

  /** The body every HTTP and WebSocket error answer carries. */
  toJSON(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details && { details: this.details }),
      },
    }
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> }
}

export function isCloudsyncError(err: unknown, code?: ErrorCode): err is CloudsyncError {
  return err instanceof CloudsyncError && (code === undefined || err.code === code)
}

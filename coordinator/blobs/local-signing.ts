/**
 * HMAC-SHA256 signed URLs for the coordinator's own data-plane route: the embedded stand-in
 * for S3 presigned URLs. A signature binds the method, the key, the expiry and (for PUT) the
 * exact body size, so a URL cannot be reused for another chunk, another verb or a longer body.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { CloudsyncError } from '../../protocol/errors.ts'
import { assertBlobKey, assertBlobSize, assertPresignSeconds } from './blob-checks.ts'
import type {
  PresignedGet,
  PresignedPut,
  PresignGetOptions,
  PresignPutOptions,
} from './blob-store.ts'

/** Path the data-plane route serves; signed URLs point here. */
export const BLOB_ROUTE_PATH = '/blobs'

export type SignedMethod = 'GET' | 'PUT'

/** Query parameters of a signed URL. */
export interface SignedQuery {
  /** Expiry, Unix seconds. */
  exp?: unknown
  /** Body size in bytes (PUT only). */
  size?: unknown
  /** base64url HMAC-SHA256. */
  sig?: unknown
}

export interface UrlSignerConfig {
  /**
   * HMAC key. Without one a random key is made per process, so URLs stop working when the
   * coordinator restarts; that is fine for short-lived URLs and a single embedded instance.
   */
  secret?: string | Uint8Array
  /** Base URL devices reach the coordinator at; may be set later with setPublicUrl. */
  publicUrl?: string
  /** Clock, milliseconds; tests move it. */
  now?: () => number
}

export interface SignedUrl {
  url: string
  expiresAt: Date
}

const SIG_BYTES = 32
const DECIMAL = /^[0-9]{1,15}$/
const BASE64URL_SIG = /^[A-Za-z0-9_-]{43}$/

export class UrlSigner {
  readonly #secret: Uint8Array
  readonly #now: () => number
  #publicUrl: string | undefined

  constructor(config: UrlSignerConfig = {}) {
    const secret = config.secret ?? randomBytes(32)
    this.#secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
    if (this.#secret.byteLength < 16) throw new Error('Blob signing secret must be 16+ bytes')
    this.#now = config.now ?? Date.now
    if (config.publicUrl !== undefined) this.setPublicUrl(config.publicUrl)
  }

  setPublicUrl(url: string): void {
    const parsed = new URL(url)
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`Public URL must be http(s): ${url}`)
    }
    this.#publicUrl = url.replace(/\/+$/, '')
  }

  get publicUrl(): string | undefined {
    return this.#publicUrl
  }

  /** A presigned PUT for this coordinator's data-plane route (memory and local-disk stores). */
  presignPut(key: string, options: PresignPutOptions): PresignedPut {
    const { url, expiresAt } = this.sign('PUT', key, options)
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      expiresAt,
    }
  }

  presignGet(key: string, options: PresignGetOptions): PresignedGet {
    return this.sign('GET', key, options)
  }

  sign(
    method: SignedMethod,
    key: string,
    options: { expiresInSeconds: number; size?: number },
  ): SignedUrl {
    assertBlobKey(key)
    assertPresignSeconds(options.expiresInSeconds)
    if (method === 'PUT') assertBlobSize(options.size ?? -1)
    if (this.#publicUrl === undefined) {
      // A programming error, not a client's: the coordinator signs before it knows its URL.
      throw new Error('UrlSigner has no public URL yet; call setPublicUrl after listen')
    }
    const exp = Math.ceil(this.#now() / 1000) + options.expiresInSeconds
    const size = method === 'PUT' ? String(options.size) : ''
    const query = new URLSearchParams({ exp: String(exp) })
    if (size) query.set('size', size)
    query.set('sig', this.#mac(method, key, String(exp), size).toString('base64url'))
    return {
      url: `${this.#publicUrl}${BLOB_ROUTE_PATH}/${key}?${query}`,
      expiresAt: new Date(exp * 1000),
    }
  }

  /**
   * Throws BAD_SIGNATURE unless the query is a live signature for this method and key.
   * Returns the signed body size for PUT.
   */
  verify(method: SignedMethod, key: string, query: SignedQuery): { size: number | undefined } {
    const { exp, sig } = query
    const size = query.size ?? ''
    if (typeof exp !== 'string' || !DECIMAL.test(exp) || typeof size !== 'string') {
      throw new CloudsyncError('BAD_SIGNATURE', 'Signed URL is missing or has a malformed expiry')
    }
    if (typeof sig !== 'string' || !BASE64URL_SIG.test(sig)) {
      throw new CloudsyncError('BAD_SIGNATURE', 'Signed URL is missing or has a malformed sig')
    }
    const given = Buffer.from(sig, 'base64url')
    const expected = this.#mac(method, key, exp, size)
    // Both are SIG_BYTES long here (checked by the pattern), as timingSafeEqual requires.
    if (given.byteLength !== SIG_BYTES || !timingSafeEqual(given, expected)) {
      throw new CloudsyncError('BAD_SIGNATURE', `Signature does not match this ${method} URL`)
    }
    // Expiry is checked after the signature so the message never tells a forger anything.
    if (Number(exp) * 1000 <= this.#now()) {
      throw new CloudsyncError('BAD_SIGNATURE', 'Signed URL has expired', { expiredAt: exp })
    }
    if (method === 'PUT' && !DECIMAL.test(size)) {
      throw new CloudsyncError('BAD_SIGNATURE', 'Signed PUT URL has no size')
    }
    return { size: method === 'PUT' ? Number(size) : undefined }
  }

  #mac(method: SignedMethod, key: string, exp: string, size: string): Buffer {
    // Newline-separated fields of fixed shapes: no two distinct tuples give the same string.
    const payload = `cloudsync-blob-v1\n${method}\n${key}\n${exp}\n${size}`
    return createHmac('sha256', this.#secret).update(payload).digest()
  }
}

/**
 * One HTTP exchange with the coordinator or a presigned URL over `fetch`, with the error
 * mapping every caller relies on: a 4xx is the server's CloudsyncError (code, message,
 * details); a network failure, a timeout or a 5xx is UNAVAILABLE, which callers retry;
 * the caller's own abort is rethrown as its reason, since nobody should retry that.
 */
import type { Static, TSchema } from 'typebox'
import { CloudsyncError, type ErrorCode, isCloudsyncError } from '../../protocol/errors.ts'
import { ErrorBody } from '../../protocol/schemas/common.ts'
import { readJson } from '../../protocol/schemas/json.ts'
import { type Parser, parser } from '../../protocol/validate.ts'

export interface HttpCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: string
  headers?: Record<string, string>
  body?: Uint8Array | string
  timeoutMs: number
  signal?: AbortSignal | undefined
  /** Largest body read from the answer; larger ones are refused unread. */
  maxBytes: number
  /** For messages: `POST /files/upload/init`, `chunk PUT`. */
  what: string
}

export interface HttpAnswer {
  status: number
  body: Uint8Array
}

const errorBody = parser(ErrorBody, 'error answer')

/** Codes for error answers without our JSON body (S3's XML, a proxy's HTML page). */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'INVALID_INPUT',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  410: 'GONE',
  413: 'TOO_LARGE',
}

/** Sends one request and answers its 2xx status and body; throws CloudsyncError otherwise. */
export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs)
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout
  try {
    const response = await fetch(call.url, {
      method: call.method,
      headers: call.headers,
      // A Uint8Array view is sent as its bytes (the type wants an ArrayBuffer-backed one).
      body: call.body as string | Uint8Array<ArrayBuffer> | undefined,
      signal,
      redirect: 'error',
    })
    const body = await readBounded(response, call.maxBytes, call.what)
    if (response.ok) return { status: response.status, body }
    throw errorFromAnswer(response.status, body, call.what)
  } catch (err) {
    if (call.signal?.aborted) throw call.signal.reason
    if (isCloudsyncError(err)) throw err
    if (timeout.aborted) {
      throw new CloudsyncError('UNAVAILABLE', `${call.what} timed out after ${call.timeoutMs} ms`)
    }
    throw new CloudsyncError('UNAVAILABLE', `${call.what} failed: ${describeNetworkError(err)}`)
  }
}

/** Parses a 2xx JSON answer against its schema; a mismatch is INTERNAL, naming the field. */
export function parseAnswer<T extends TSchema>(
  answer: HttpAnswer,
  schema: Parser<T>,
  what: string,
): Static<T> {
  try {
    return schema.parse(readJson(answer.body, `answer to ${what}`))
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    const details = isCloudsyncError(err) ? err.details : undefined
    throw new CloudsyncError(
      'INTERNAL',
      `The coordinator's answer to ${what} breaks the protocol: ${reason}`,
      { status: answer.status, ...details },
    )
  }
}

/** Reads the body, refusing (and cancelling) anything over `maxBytes`. */
async function readBounded(
  response: Response,
  maxBytes: number,
  what: string,
): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN)
  if (declared > maxBytes) {
    await response.body?.cancel()
    throw tooLarge(what, declared, maxBytes)
  }
  if (!response.body) return new Uint8Array(0)
  const parts: Uint8Array[] = []
  let total = 0
  for await (const part of response.body) {
    total += part.byteLength
    if (total > maxBytes) {
      await response.body.cancel().catch(() => {})
      throw tooLarge(what, total, maxBytes)
    }
    parts.push(part)
  }
  if (parts.length === 1) return parts[0]!
  return Buffer.concat(parts, total)
}

function tooLarge(what: string, size: number, max: number): CloudsyncError {
  return new CloudsyncError('TOO_LARGE', `Answer to ${what} has ${size}+ bytes; at most ${max}`, {
    max,
  })
}

function errorFromAnswer(status: number, body: Uint8Array, what: string): CloudsyncError {
  let parsed: ErrorBody | undefined
  try {
    parsed = errorBody.parse(readJson(body))
  } catch {
    parsed = undefined
  }
  if (status >= 500 || status === 408 || status === 429) {
    // The server's BUSY stays BUSY; anything else on its side is worth another try later.
    const code = parsed?.error.code === 'BUSY' ? 'BUSY' : 'UNAVAILABLE'
    const message = parsed?.error.message ?? `status ${status}`
    return new CloudsyncError(code, `${what} failed on the server: ${message}`, {
      status,
      ...(parsed && { serverCode: parsed.error.code }),
    })
  }
  if (parsed)
    return new CloudsyncError(parsed.error.code, parsed.error.message, parsed.error.details)
  const code = STATUS_CODES[status] ?? 'INVALID_INPUT'
  const text = Buffer.from(body.subarray(0, 200)).toString('utf8').replace(/\s+/g, ' ')
  return new CloudsyncError(code, `${what} refused with status ${status}: ${text}`, { status })
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, reset) in `cause`. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause as { code?: string; message?: string } | undefined
  if (cause?.code) return `${err.message} (${cause.code})`
  if (cause?.message) return `${err.message} (${cause.message})`
  return err.message
}

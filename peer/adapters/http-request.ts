/**
 * One HTTP exchange with the coordinator or a presigned URL (node:http), with the error
 * mapping every caller relies on: a 4xx is the server's CloudsyncError (code, message,
 * details); a network failure, a timeout or a 5xx is UNAVAILABLE, which callers retry;
 * the caller's own abort is rethrown as its reason, since nobody should retry that.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Static, TSchema } from 'typebox'
import { CloudsyncError, type ErrorCode, isCloudsyncError } from '../../protocol/errors.ts'
import { ErrorBody } from '../../protocol/schemas/common.ts'
import { readJson } from '../../protocol/schemas/json.ts'
import { type Parser, parser } from '../../protocol/validate.ts'
import { type Pace, slicesOf } from '../ports/pace.ts'

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
  /** Rate limits: on the body sent, and on the answer's body read. */
  pace?: { send?: Pace | undefined; receive?: Pace | undefined }
}

export interface HttpAnswer {
  status: number
  body: Uint8Array
}

/** What carries a call: `httpCall` over node:http, or a simulated network. */
export type HttpTransport = (call: HttpCall) => Promise<HttpAnswer>

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

/**
 * Keep-alive connections per origin. node:http rather than fetch: fetch copies every
 * request body (a chunk PUT is megabytes) and streams it through web streams, which cost
 * an upload much of its main thread, and as much again in garbage collection.
 */
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 32 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 32 }),
}

/** Sends one request and answers its 2xx status and body; throws CloudsyncError otherwise. */
export async function httpCall(call: HttpCall): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs)
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout
  try {
    return checkedAnswer(await exchange(call, signal), call.what)
  } catch (err) {
    if (call.signal?.aborted) throw call.signal.reason
    if (isCloudsyncError(err)) throw err
    if (timeout.aborted) {
      throw new CloudsyncError('UNAVAILABLE', `${call.what} timed out after ${call.timeoutMs} ms`)
    }
    throw new CloudsyncError('UNAVAILABLE', `${call.what} failed: ${describeNetworkError(err)}`)
  }
}

/** A 2xx answer as is; any other status as the CloudsyncError every caller branches on. */
export function checkedAnswer(answer: HttpAnswer, what: string): HttpAnswer {
  if (answer.status >= 200 && answer.status < 300) return answer
  throw errorFromAnswer(answer.status, answer.body, what)
}

/** One request over node:http(s); redirects are answers like any other (never followed). */
function exchange(call: HttpCall, signal: AbortSignal): Promise<HttpAnswer> {
  const url = new URL(call.url)
  const protocol =
    url.protocol === 'https:' ? 'https:' : url.protocol === 'http:' ? 'http:' : undefined
  if (!protocol) throw new CloudsyncError('INVALID_INPUT', `${call.what}: not an http(s) URL`)
  const body = typeof call.body === 'string' ? Buffer.from(call.body) : call.body
  const send = protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<HttpAnswer>((resolve, reject) => {
    const request = send(url, {
      method: call.method,
      headers: { ...call.headers, 'content-length': String(body?.byteLength ?? 0) },
      agent: agents[protocol],
      signal,
    })
    request.once('error', reject)
    request.once('response', (response) => {
      response.once('error', reject)
      readBounded(response, call.maxBytes, call.what, call.pace?.receive, signal).then(
        (bytes) => resolve({ status: response.statusCode ?? 0, body: bytes }),
        (err) => {
          response.destroy()
          reject(err)
        },
      )
    })
    const paceSend = call.pace?.send
    if (!paceSend || !body) request.end(body)
    else writePaced(request, body, paceSend, signal).catch((err) => request.destroy(err))
  })
}

/** The body in slices, each written once the limit lets its bytes go. */
async function writePaced(
  request: ClientRequest,
  body: Uint8Array,
  pace: Pace,
  signal: AbortSignal,
): Promise<void> {
  for (const slice of slicesOf(body)) {
    await pace(slice.length, signal)
    if (!request.write(slice)) await new Promise((drained) => request.once('drain', drained))
  }
  request.end()
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

/** Reads the body, refusing (and dropping the connection) anything over `maxBytes`. */
async function readBounded(
  response: IncomingMessage,
  maxBytes: number,
  what: string,
  pace?: Pace,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length'] ?? Number.NaN)
  if (declared > maxBytes) throw tooLarge(what, declared, maxBytes)
  const parts: Buffer[] = []
  let total = 0
  for await (const part of response as AsyncIterable<Buffer>) {
    total += part.byteLength
    if (total > maxBytes) throw tooLarge(what, total, maxBytes)
    parts.push(part)
    // Reading no faster than the limit holds the sender back through TCP's window.
    await pace?.(part.byteLength, signal)
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

/** The system's reason (ECONNREFUSED, ECONNRESET) beside the message. */
function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = (err as NodeJS.ErrnoException).code
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message
}

/**
 * What the coordinator's request log may show. Signed blob URLs carry their signature in
 * the query, and anything named like a credential is a secret: a log line must not be
 * enough to read or write a chunk, or to act as a device.
 */
import type { FastifyRequest } from 'fastify'

const SECRET_PARAMS =
  /^(sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|token|credential)$/i

/** The URL with the values of secret query parameters replaced by `REDACTED`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q < 0) return url
  const params = new URLSearchParams(url.slice(q + 1))
  let changed = false
  for (const name of [...params.keys()]) {
    if (SECRET_PARAMS.test(name)) {
      params.set(name, 'REDACTED')
      changed = true
    }
  }
  return changed ? `${url.slice(0, q)}?${params}` : url
}

/** pino serializers for Fastify's request log: the default fields, the URL redacted. */
export const logSerializers = {
  req(request: FastifyRequest) {
    return {
      method: request.method,
      url: redactUrl(request.url),
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    }
  },
}

/** Headers never logged, whatever a later log call passes. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
]

/**
 * One error answer for the whole API, `{error: {code, message, details?}}` (protocol
 * errors.ts): schema failures, malformed JSON, oversized bodies, unknown routes and our
 * own CloudsyncErrors all leave as a 4xx whose message names the problem, and a backend
 * that cannot be reached as a 503 that names it.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import { validatePath } from '../../protocol/paths.ts'
import { isStoreUnreachable } from '../store/db.ts'

interface AjvError {
  instancePath: string
  keyword: string
  schemaPath?: string
  message?: string
  params: Record<string, unknown>
}

/** Fastify's own 4xx errors by code, with the code and status we answer them with. */
const FASTIFY_ERRORS: Record<string, (err: FastifyError) => CloudsyncError> = {
  FST_ERR_CTP_INVALID_JSON_BODY: (err) =>
    new CloudsyncError('INVALID_INPUT', `Body is not valid JSON: ${err.message}`),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new CloudsyncError('INVALID_INPUT', 'Body is empty but content-type is application/json'),
  FST_ERR_CTP_BODY_TOO_LARGE: (err) =>
    new CloudsyncError('TOO_LARGE', `Request body is too large: ${err.message}`),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (err) =>
    new CloudsyncError('INVALID_INPUT', `Unsupported content type: ${err.message}`),
}

function toCloudsyncError(err: FastifyError, request: FastifyRequest): CloudsyncError | undefined {
  if (isCloudsyncError(err)) return err
  if (err.validation) {
    return fromValidation(err.validation as AjvError[], err.validationContext ?? 'body', request)
  }
  const mapped = err.code ? FASTIFY_ERRORS[err.code] : undefined
  if (mapped) return mapped(err)
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new CloudsyncError('INVALID_INPUT', err.message)
  }
  // The stores map their own outages (store/pg.ts, blobs/s3.ts); this catches the rest,
  // so a dependency that is down is a 503 with its cause, never a 500.
  if (isStoreUnreachable(err)) {
    return new CloudsyncError('UNAVAILABLE', `A backend is unavailable: ${err.message}`)
  }
  return undefined
}

/**
 * `/chunks/3/size` + params -> `chunks[3].size`, naming an extra or missing property
 * (TypeBox lists them in arrays; Ajv, as a fallback, names one).
 */
export function fieldOf(error: AjvError): string {
  const parts = error.instancePath.split('/').filter(Boolean)
  const p = error.params as Record<string, unknown>
  const named = [
    p.additionalProperties,
    p.requiredProperties,
    p.additionalProperty,
    p.missingProperty,
  ]
    .flat()
    .find((n) => typeof n === 'string')
  if (typeof named === 'string') parts.push(named)
  return parts
    .map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/~1/g, '/')
    .replace(/~0/g, '~')
}

function fromValidation(
  errors: AjvError[],
  context: string,
  request: FastifyRequest,
): CloudsyncError {
  const first = errors[0]!
  const field = fieldOf(first)
  // A path that fails the schema's pattern gets validatePath's sentence, which says why.
  if (first.keyword === 'pattern' && /(^|\.)(path|to)$|^paths\[\d+\]$/.test(field)) {
    const value = valueAt(request, context, first.instancePath)
    try {
      validatePath(value)
    } catch (err) {
      if (isCloudsyncError(err)) return new CloudsyncError('INVALID_PATH', err.message, { field })
    }
  }
  // TypeBox reports an unknown field first as "schema is false" at the field itself.
  const unknownField =
    first.keyword === 'additionalProperties' ||
    (first.keyword === 'boolean' && first.schemaPath?.endsWith('/additionalProperties'))
  const reason = unknownField
    ? 'is not allowed (unknown field)'
    : first.keyword === 'required'
      ? 'is required'
      : (first.message ?? 'is invalid')
  const where = field ? `${context}.${field}` : context
  return new CloudsyncError('INVALID_INPUT', `Invalid ${where}: ${reason}`, { field, in: context })
}

function valueAt(request: FastifyRequest, context: string, pointer: string): unknown {
  const root: unknown =
    context === 'body' ? request.body : context === 'querystring' ? request.query : request.params
  return pointer
    .split('/')
    .filter(Boolean)
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], root)
}

export function sendError(reply: FastifyReply, err: CloudsyncError, status = err.status) {
  return reply.code(status).type('application/json').send(err.toJSON())
}

async function errors(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = toCloudsyncError(err, request)
    if (known) {
      request.log.info({ code: known.code, message: known.message }, 'request refused')
      // Fastify's own statuses (415, 413) stay; ours come from the code.
      const status = isCloudsyncError(err) ? known.status : (err.statusCode ?? known.status)
      return sendError(reply, known, status >= 400 && status < 500 ? status : known.status)
    }
    request.log.error({ err }, 'request failed')
    return sendError(reply, new CloudsyncError('INTERNAL', 'Internal error; try again later'), 500)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new CloudsyncError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  )
}

export const errorsPlugin = fp(errors, { fastify: '5.x', name: 'cloudsync-errors' })

import { CHUNK_PROTOCOL } from '../constants.ts'
import { CloudsyncError, type ErrorCode, isCloudsyncError } from '../errors.ts'

/**
 * The one place where chunk-protocol outcomes meet error codes: what a requester makes of
 * a status, what a responder answers for an error, and how broken streams are reported.
 */

export const CHUNK_STATUSES = ['ok', 'not-found', 'forbidden', 'busy'] as const
export type ChunkStatus = (typeof CHUNK_STATUSES)[number]
export type ChunkFailure = Exclude<ChunkStatus, 'ok'>

const STATUS_CODES: Record<ChunkFailure, ErrorCode> = {
  'not-found': 'NOT_FOUND',
  forbidden: 'FORBIDDEN',
  busy: 'BUSY',
}

/** Requester side: the error for a chunk the peer did not send. */
export function statusError(id: string, status: ChunkFailure): CloudsyncError {
  return new CloudsyncError(STATUS_CODES[status], `Peer answered ${status} for chunk ${id}`, {
    protocol: CHUNK_PROTOCOL,
    id,
    status,
  })
}

/**
 * Responder side: the status to answer when serving a chunk failed. Anything unexpected
 * (a local file changed under the index, a read error) is `not-found`: the requester then
 * falls back to another peer or S3, which is always safe.
 */
export function statusForError(err: unknown): ChunkFailure {
  if (isCloudsyncError(err, 'BUSY')) return 'busy'
  if (isCloudsyncError(err, 'FORBIDDEN') || isCloudsyncError(err, 'BAD_SIGNATURE'))
    return 'forbidden'
  if (isCloudsyncError(err, 'UNAUTHENTICATED')) return 'forbidden'
  return 'not-found'
}

/** The peer broke the framing or the message rules: drop the stream (and the peer). */
export function protocolError(message: string, details?: Record<string, unknown>): CloudsyncError {
  return new CloudsyncError('INVALID_INPUT', `Chunk protocol: ${message}`, {
    protocol: CHUNK_PROTOCOL,
    ...details,
  })
}

/** A frame longer than its kind allows, refused before its bytes are buffered. */
export function frameTooLarge(kind: string, length: number, limit: number): CloudsyncError {
  return new CloudsyncError(
    'TOO_LARGE',
    `Chunk protocol: ${kind} frame of ${length} bytes exceeds ${limit}`,
    {
      protocol: CHUNK_PROTOCOL,
      kind,
      length,
      limit,
    },
  )
}

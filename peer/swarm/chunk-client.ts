import type { Stream } from '@libp2p/interface'
import { verifyChunkId } from '../../protocol/crypto/chunk-cipher.ts'
import { CloudsyncError, isCloudsyncError } from '../../protocol/errors.ts'
import {
  encodeRequest,
  FrameDecoder,
  protocolError,
  statusError,
} from '../../protocol/p2p/chunk-protocol.ts'
import type { ChunkResult } from '../chunk-sources/chunk-source.ts'
import type { Pace } from '../ports/pace.ts'
import { checkRemoteHello, helloFrame, type SwarmIdentity } from './identity.ts'
import { FrameReader, sendAll } from './stream-io.ts'

/**
 * The requester side of CHUNK_PROTOCOL for one request on one fresh stream: hello both
 * ways, the request, then one answer per id in order. Every body is checked against its id
 * before it is handed out.
 */

export interface RequestOptions {
  /** The caller's signal, usually combined with a deadline for the whole request. */
  signal?: AbortSignal
  /** Fail the rest of the request when no byte arrives for this long. */
  idleTimeoutMs?: number
  /** Every piece of bytes read, for rate tracking. */
  onBytes?: (n: number) => void
  /** The LAN download limit, on everything read. */
  pace?: Pace
}

/** A result, and whether a failure was the peer's fault as a whole (not an answer for one id). */
export type PeerChunkResult = ChunkResult & { peerFailed?: boolean }

export const DEFAULT_IDLE_TIMEOUT_MS = 10_000

/**
 * Yields exactly one result per id, in request order, and never throws: when the stream
 * breaks, times out or the peer is not of this account, every id not yet answered gets an
 * error result (BUSY or FORBIDDEN, `peerFailed` set). The stream is closed or aborted
 * before the generator finishes.
 */
export async function* requestChunks(
  stream: Stream,
  identity: SwarmIdentity,
  remotePeerId: string,
  ids: readonly string[],
  options: RequestOptions = {},
): AsyncGenerator<PeerChunkResult> {
  const reader = new FrameReader(stream, new FrameDecoder('requester'))
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  let idle: NodeJS.Timeout | undefined
  const fail = (err: Error) => stream.abort(err)
  const armIdle = () => {
    clearTimeout(idle)
    idle = setTimeout(() => fail(timeoutError(remotePeerId, idleMs)), idleMs)
  }
  reader.pace = options.pace
  reader.onBytes = (n) => {
    armIdle()
    options.onBytes?.(n)
  }
  const onAbort = () => fail(options.signal?.reason ?? new Error('aborted'))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  let answered = 0
  let finished = false
  try {
    armIdle()
    options.signal?.throwIfAborted()
    await sendAll(stream, [helloFrame(identity)], options.signal)
    const first = await reader.next()
    if (first?.kind !== 'hello') throw protocolError('stream ended before the hello')
    // Only ask a device of this account: the ids themselves are the account's business.
    checkRemoteHello(identity, first.hello, remotePeerId)
    reader.decoder.expect(ids)
    await sendAll(stream, [encodeRequest(ids)], options.signal)
    await stream.close({ signal: options.signal })
    while (answered < ids.length) {
      const frame = await reader.next()
      if (frame?.kind !== 'header') throw protocolError('expected a response header')
      const { id, status } = frame.header
      if (status !== 'ok') {
        answered++
        yield { id, error: statusError(id, status) }
        continue
      }
      const body = await reader.next()
      if (body?.kind !== 'body') throw protocolError(`expected the body of chunk ${id}`)
      // Counted only once its body is in: a stream that breaks inside the body still owes it.
      answered++
      yield verified(id, body.bytes, remotePeerId)
    }
    clearTimeout(idle)
    // The responder closes its side once every answer is out; wait for it (still bounded
    // by the idle timer) so the stream is released rather than left half-open.
    armIdle()
    await reader.next()
    finished = true
  } catch (err) {
    const error = streamError(err, remotePeerId, options.signal)
    stream.abort(error)
    finished = true
    for (const id of ids.slice(answered)) yield { id, error, peerFailed: true }
  } finally {
    clearTimeout(idle)
    // The consumer stopped early: the peer may still be sending, so drop the stream.
    if (!finished) stream.abort(new Error('request abandoned'))
    options.signal?.removeEventListener('abort', onAbort)
    await reader.release().catch(() => {})
  }
}

function verified(id: string, bytes: Uint8Array, peer: string): PeerChunkResult {
  try {
    verifyChunkId(id, bytes)
    return { id, bytes }
  } catch (err) {
    const error = err as CloudsyncError
    return { id, error: new CloudsyncError(error.code, error.message, { id, peer }) }
  }
}

function timeoutError(peer: string, ms: number): CloudsyncError {
  return new CloudsyncError('BUSY', `Peer ${peer} sent nothing for ${ms} ms`, {
    peer,
    reason: 'timeout',
  })
}

/** What a failed stream means for the chunks it still owed. */
function streamError(err: unknown, peer: string, signal?: AbortSignal): CloudsyncError {
  if (signal?.aborted && !isCloudsyncError(signal.reason)) {
    return new CloudsyncError('BUSY', `Request to peer ${peer} was cancelled`, {
      peer,
      reason: 'aborted',
    })
  }
  const cause = signal?.aborted ? signal.reason : err
  if (isCloudsyncError(cause, 'BAD_SIGNATURE') || isCloudsyncError(cause, 'FORBIDDEN')) {
    return new CloudsyncError('FORBIDDEN', `Peer ${peer} is not a device of this account`, {
      peer,
      reason: 'certificate',
      cause: cause.message,
    })
  }
  if (isCloudsyncError(cause, 'BUSY')) return cause
  const message = cause instanceof Error ? cause.message : String(cause)
  const reason = isCloudsyncError(cause) ? 'protocol' : 'disconnected'
  return new CloudsyncError('BUSY', `Chunk stream to peer ${peer} failed: ${message}`, {
    peer,
    reason,
  })
}

import type { ComponentLogger, Connection, Logger, Startable, Stream } from '@libp2p/interface'
import type { CertificatePayload } from '../../protocol/certificates.ts'
import { CHUNK_PROTOCOL } from '../../protocol/constants.ts'
import {
  type ChunkFailure,
  encodeChunk,
  encodeFailure,
  FrameDecoder,
  statusForError,
} from '../../protocol/p2p/chunk-protocol.ts'
import type { Pace } from '../ports/pace.ts'
import { assertStillLinked, checkRemoteHello, helloFrame, type SwarmIdentity } from './identity.ts'
import { FrameReader, sendAll } from './stream-io.ts'

/** Where served chunks come from: the device's own files through its index (a Map in tests). */
export interface ChunkProvider {
  /** The chunk's ciphertext, or undefined when this device does not have it. */
  read(id: string): Promise<Uint8Array | undefined>
}

export interface ChunkServiceInit {
  identity: SwarmIdentity
  provider: ChunkProvider
  /** Requests served at once across all streams; more are answered `busy`. */
  maxActiveRequests?: number
  /** Concurrent inbound chunk streams per connection (libp2p's default is 32). */
  maxInboundStreams?: number
  /** The LAN upload limit, on chunk bodies served. */
  pace?: Pace
}

/** What the service needs from libp2p: only the registrar (and a logger when there is one). */
export interface ChunkServiceComponents {
  registrar: {
    handle(
      protocol: string,
      handler: (stream: Stream, connection: Connection) => void | Promise<void>,
      options?: { maxInboundStreams?: number },
    ): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
  logger?: ComponentLogger
}

export interface ChunkServiceCounters {
  chunksServed: number
  bytesServed: number
  /** Chunk answers refused because the requester's hello did not verify. */
  forbidden: number
  busy: number
  notFound: number
}

export const DEFAULT_MAX_ACTIVE_REQUESTS = 16

type ReadOutcome = { bytes: Uint8Array } | { status: ChunkFailure }

/**
 * The responder side of CHUNK_PROTOCOL. On every stream both sides send their hello first;
 * only a requester whose certificate the coordinator signed for the connection's peer id
 * and this device's account gets chunk bytes, anyone else gets `forbidden` for every id.
 */
export class ChunkService implements Startable {
  readonly counters: ChunkServiceCounters = {
    chunksServed: 0,
    bytesServed: 0,
    forbidden: 0,
    busy: 0,
    notFound: 0,
  }
  readonly #init: ChunkServiceInit
  readonly #components: ChunkServiceComponents
  readonly #log: Logger | undefined
  #active = 0

  constructor(init: ChunkServiceInit, components: ChunkServiceComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger?.forComponent('cloudsync:chunk-service')
  }

  readonly [Symbol.toStringTag] = 'cloudsync/chunk-service'

  async start(): Promise<void> {
    await this.#components.registrar.handle(
      CHUNK_PROTOCOL,
      (stream, connection) => this.#serve(stream, connection.remotePeer.toString()),
      { maxInboundStreams: this.#init.maxInboundStreams ?? 32 },
    )
  }

  async stop(): Promise<void> {
    await this.#components.registrar.unhandle(CHUNK_PROTOCOL)
  }

  async #serve(stream: Stream, remotePeerId: string): Promise<void> {
    const reader = new FrameReader(stream, new FrameDecoder('responder'))
    try {
      // Built per stream: a renewed certificate is presented from the next stream on.
      await sendAll(stream, [helloFrame(this.#init.identity)])
      const first = await reader.next()
      if (first?.kind !== 'hello') return void (await stream.close())
      let peer: CertificatePayload | undefined
      try {
        peer = checkRemoteHello(this.#init.identity, first.hello, remotePeerId)
      } catch (err) {
        this.#log?.('refusing %s: %s', remotePeerId, (err as Error).message)
      }
      for (let frame = await reader.next(); frame; frame = await reader.next()) {
        if (frame.kind !== 'request') continue
        // Asked again per request: a stream opened before an unlink must not outlive it.
        await this.#answer(stream, frame.request.ids, peer !== undefined && this.#admits(peer))
      }
      await stream.close()
    } catch (err) {
      // A broken frame, a reset or a dropped connection: nothing more to say on this stream.
      this.#log?.('chunk stream from %s failed: %s', remotePeerId, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      await reader.release().catch(() => {})
    }
  }

  #admits(peer: CertificatePayload): boolean {
    try {
      assertStillLinked(this.#init.identity, peer)
      return true
    } catch {
      return false
    }
  }

  async #answer(stream: Stream, ids: readonly string[], allowed: boolean): Promise<void> {
    const refusal: ChunkFailure | undefined = !allowed
      ? 'forbidden'
      : this.#active >= (this.#init.maxActiveRequests ?? DEFAULT_MAX_ACTIVE_REQUESTS)
        ? 'busy'
        : undefined
    if (refusal) {
      this.counters[refusal === 'busy' ? 'busy' : 'forbidden'] += ids.length
      await sendAll(
        stream,
        ids.map((id) => encodeFailure(id, refusal)),
      )
      return
    }
    this.#active++
    try {
      // Read one chunk ahead, so the disk (or the index's re-encryption) works while the
      // previous chunk is on the wire.
      let reading = this.#read(ids[0]!)
      for (let i = 0; i < ids.length; i++) {
        const outcome = await reading
        if (i + 1 < ids.length) reading = this.#read(ids[i + 1]!)
        await this.#send(stream, ids[i]!, outcome)
      }
    } finally {
      this.#active--
    }
  }

  /** Never rejects: a read that fails becomes the status to answer. */
  async #read(id: string): Promise<ReadOutcome> {
    try {
      const bytes = await this.#init.provider.read(id)
      return bytes ? { bytes } : { status: 'not-found' }
    } catch (err) {
      this.#log?.('reading chunk %s failed: %s', id, (err as Error).message)
      return { status: statusForError(err) }
    }
  }

  async #send(stream: Stream, id: string, outcome: ReadOutcome): Promise<void> {
    if ('status' in outcome) {
      if (outcome.status === 'not-found') this.counters.notFound++
      await sendAll(stream, [encodeFailure(id, outcome.status)])
      return
    }
    await sendAll(stream, encodeChunk(id, outcome.bytes), undefined, this.#init.pace)
    this.counters.chunksServed++
    this.counters.bytesServed += outcome.bytes.length
  }
}

/** The libp2p service factory: `services: { chunks: chunkService(init) }`. */
export function chunkService(
  init: ChunkServiceInit,
): (components: ChunkServiceComponents) => ChunkService {
  return (components) => new ChunkService(init, components)
}

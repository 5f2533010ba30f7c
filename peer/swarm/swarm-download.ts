import { CloudsyncError } from '../../protocol/errors.ts'
import type { ChunkResult } from '../chunk-sources/chunk-source.ts'
import { type PeerChunkResult, requestChunks } from './chunk-client.ts'
import type { PeerSlots } from './peer-slots.ts'
import type { PeerStats } from './peer-stats.ts'
import type { SwarmDownloadSettings, SwarmPeer } from './swarm-peer.ts'

type Event = PeerChunkResult & { peerId: string }

/** What every download of one SwarmSource shares: counters, rates, down peers, slots. */
export interface SwarmShared {
  stats: PeerStats
  slots: PeerSlots
  peers: () => readonly SwarmPeer[]
}

interface Attempt {
  peerId: string
  error: CloudsyncError
}

/**
 * One `getMany` call: spreads the ids across the account's peers, fastest first, with a
 * few requests of a few chunks in flight per peer. An id a peer could not deliver goes back
 * to the front of the queue for a peer that has not tried it yet; once every usable peer
 * has tried, the id fails with the most telling of their errors. A peer whose stream broke,
 * timed out, refused us or sent wrong bytes is not asked again in this call, nor by any
 * call for `downPeerBackoffMs`.
 */
export class SwarmDownload {
  readonly #settings: SwarmDownloadSettings
  readonly #shared: SwarmShared
  readonly #stats: PeerStats
  readonly #queue: string[]
  readonly #attempts = new Map<string, Attempt[]>()
  readonly #excluded = new Set<string>()
  readonly #events: Event[] = []
  #wake: (() => void) | undefined
  /** Set by every wake-up, cleared when the loop looks again: a wake-up while it yields is kept. */
  #woken = false
  readonly #stop = new AbortController()

  constructor(settings: SwarmDownloadSettings, shared: SwarmShared, ids: readonly string[]) {
    this.#settings = settings
    this.#shared = shared
    this.#stats = shared.stats
    this.#queue = [...new Set(ids)]
  }

  /** One result per distinct id, as they complete. Throws only when `signal` aborts. */
  async *run(signal?: AbortSignal): AsyncGenerator<ChunkResult> {
    let outstanding = this.#queue.length
    const onAbort = () => {
      this.#stop.abort(signal?.reason)
      this.#poke()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    // A slot freed by any download of this source may let this one send its next request.
    const unsubscribe = this.#shared.slots.subscribe(() => this.#poke())
    try {
      while (outstanding > 0) {
        signal?.throwIfAborted()
        this.#dispatch()
        for (const result of this.#failUnservable()) {
          outstanding--
          yield result
        }
        if (outstanding === 0) break
        const event = await this.#nextEvent()
        if (!event) continue
        if (event.bytes) {
          this.#stats.received(event.peerId, event.bytes.length)
          outstanding--
          yield { id: event.id, bytes: event.bytes }
        } else if (event.error) {
          this.#retryLater(event.id, event.peerId, event.error, event.peerFailed === true)
        }
      }
    } finally {
      unsubscribe()
      signal?.removeEventListener('abort', onAbort)
      // Whatever is still in flight (the caller stopped early or aborted) is cancelled.
      this.#stop.abort(new Error('download finished'))
    }
  }

  #retryLater(id: string, peerId: string, error: CloudsyncError, peerFailed: boolean): void {
    this.#stats.failed(peerId, error)
    const attempts = this.#attempts.get(id) ?? []
    attempts.push({ peerId, error })
    this.#attempts.set(id, attempts)
    if (peerFailed || error.code === 'FORBIDDEN' || error.code === 'CHUNK_CORRUPT') {
      if (!this.#excluded.has(peerId))
        this.#stats.markDown(peerId, this.#settings.downPeerBackoffMs)
      this.#excluded.add(peerId)
    }
    this.#queue.unshift(id)
  }

  #usable(): SwarmPeer[] {
    const usable = this.#shared
      .peers()
      .filter((p) => !this.#excluded.has(p.peerId) && !this.#stats.isDown(p.peerId))
    return this.#stats.fastestFirst(usable)
  }

  #tried(id: string, peerId: string): boolean {
    return this.#attempts.get(id)?.some((a) => a.peerId === peerId) ?? false
  }

  /** Fills every usable peer's free request slots from the queue, fastest peer first. */
  #dispatch(): void {
    const peers = this.#usable()
    const best = peers.map((p) => this.#rate(p)).find((r) => r !== undefined)
    for (const peer of peers) {
      // A peer far slower than the best gets one request at a time, so the last chunks of
      // a file do not wait behind it while faster peers sit idle.
      const rate = this.#rate(peer)
      const slow = rate !== undefined && best !== undefined && rate * 4 < best
      const slots = slow ? 1 : this.#settings.requestsPerPeer
      while (this.#shared.slots.used(peer.peerId) < slots) {
        const ids = this.#take(peer.peerId)
        if (ids.length === 0) break
        this.#launch(peer, ids)
      }
    }
  }

  #rate(peer: SwarmPeer): number | undefined {
    return this.#stats.rateOf(peer.peerId)
  }

  /** Up to chunksPerRequest queued ids this peer has not tried yet. */
  #take(peerId: string): string[] {
    const taken: string[] = []
    for (let i = 0; i < this.#queue.length && taken.length < this.#settings.chunksPerRequest; ) {
      if (this.#tried(this.#queue[i]!, peerId)) i++
      else taken.push(this.#queue.splice(i, 1)[0]!)
    }
    return taken
  }

  /** Queued ids that no usable peer is left to try: their final error. */
  *#failUnservable(): Generator<ChunkResult> {
    const peers = this.#usable()
    for (let i = 0; i < this.#queue.length; ) {
      const id = this.#queue[i]!
      if (peers.some((p) => !this.#tried(id, p.peerId))) {
        i++
        continue
      }
      this.#queue.splice(i, 1)
      yield { id, error: finalError(id, this.#attempts.get(id) ?? [], this.#excluded.size) }
    }
  }

  #launch(peer: SwarmPeer, ids: string[]): void {
    const { peerId } = peer
    this.#shared.slots.take(peerId)
    this.#stats.requested(peerId)
    const deadline = new AbortController()
    const ms = this.#settings.requestTimeoutMs
    const timer = setTimeout(() => {
      deadline.abort(
        new CloudsyncError('BUSY', `Request to peer ${peerId} took over ${ms} ms`, {
          peer: peerId,
          reason: 'timeout',
        }),
      )
    }, ms)
    const signal = AbortSignal.any([this.#stop.signal, deadline.signal])
    const started = performance.now()
    let bytes = 0
    const pending = new Set(ids)
    let failed = 'the request ended early'
    const run = async () => {
      try {
        // Nothing comes back from a black-holed address: bound the dial like a silence.
        const dialSignal = AbortSignal.any([
          signal,
          AbortSignal.timeout(this.#settings.idleTimeoutMs),
        ])
        const stream = await this.#settings.openStream(peer, dialSignal)
        const results = requestChunks(stream, this.#settings.identity, peerId, ids, {
          signal,
          idleTimeoutMs: this.#settings.idleTimeoutMs,
          ...(this.#settings.pace && { pace: this.#settings.pace }),
          onBytes: (n) => {
            bytes += n
          },
        })
        for await (const result of results) {
          pending.delete(result.id)
          this.#push({ ...result, peerId })
        }
        failed = `it answered ${ids.length - pending.size} of ${ids.length} ids`
      } catch (err) {
        failed = `it is unreachable: ${message(err)}`
      } finally {
        // Every id gets an answer: one left without would keep the download waiting for good.
        const error = new CloudsyncError('BUSY', `Peer ${peerId} failed: ${failed}`, {
          peer: peerId,
          reason: 'unreachable',
        })
        for (const id of pending) this.#push({ id, error, peerFailed: true, peerId })
        clearTimeout(timer)
        this.#stats.sample(peerId, bytes, performance.now() - started)
        this.#shared.slots.release(peerId)
      }
    }
    void run()
  }

  #push(event: Event): void {
    this.#events.push(event)
    this.#poke()
  }

  #poke(): void {
    this.#woken = true
    this.#wake?.()
  }

  /**
   * The next event, or undefined when something else happened since the loop last looked
   * (a slot freed, an abort): the loop then dispatches again before it waits.
   */
  async #nextEvent(): Promise<Event | undefined> {
    if (this.#events.length === 0 && !this.#woken && !this.#stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = undefined
    }
    this.#woken = false
    return this.#events.shift()
  }
}

const SEVERITY = ['CHUNK_CORRUPT', 'FORBIDDEN', 'BUSY', 'NOT_FOUND'] as const

/**
 * The error for an id no peer delivered: the most telling code among the attempts (wrong
 * bytes before a refusal before a transient failure before a plain miss), with every
 * attempt in the details.
 */
function finalError(id: string, attempts: readonly Attempt[], dropped: number): CloudsyncError {
  if (attempts.length === 0) {
    const why = dropped > 0 ? ` (${dropped} dropped after failures)` : ''
    return new CloudsyncError('NOT_FOUND', `No peer left to ask for chunk ${id}${why}`, {
      id,
      attempts: [],
    })
  }
  const rank = (a: Attempt) => {
    const i = SEVERITY.indexOf(a.error.code as (typeof SEVERITY)[number])
    return i < 0 ? SEVERITY.length : i
  }
  const worst = [...attempts].sort((a, b) => rank(a) - rank(b))[0]!
  return new CloudsyncError(
    worst.error.code,
    `Chunk ${id} not fetched from ${attempts.length} peer attempt(s): ${worst.error.message}`,
    {
      id,
      attempts: attempts.map((a) => ({
        peer: a.peerId,
        code: a.error.code,
        message: a.error.message,
      })),
    },
  )
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err))

/**
 * The simulated network between devices and the coordinator. HTTP calls may be lost
 * (request or answer: the client waits out its timeout), delayed (so concurrent calls
 * arrive reordered), duplicated (the server sees a request twice) or cut by a partition;
 * a crashed coordinator refuses connections at once. The push channel is one ordered
 * stream per connection, as TCP is: its messages are delayed, and a fault breaks the
 * whole connection, never one message.
 */
import { checkedAnswer, type HttpTransport } from '../../peer/index.ts'
import { CloudsyncError } from '../../protocol/errors.ts'
import type { VirtualClock } from './clock.ts'
import type { SimCoordinator } from './coordinator.ts'
import type { Rng } from './rng.ts'

export interface NetworkFaults {
  /** Chance that a request, or its answer, is lost. */
  loss: number
  /** Chance that a request reaches the server twice. */
  duplicate: number
  /** Chance that a message takes long (0.2-3 s), overtaking nothing but overtaken by others. */
  slow: number
  /** Chance, per pushed message, that the push connection breaks instead. */
  pushBreak: number
}

export const NO_FAULTS: NetworkFaults = { loss: 0, duplicate: 0, slow: 0, pushBreak: 0 }

/** How long a simulated client waits for an answer before it gives up. */
export const CALL_TIMEOUT_MS = 5_000

const hang = () => new Promise<never>(() => {})

export class SimNetwork {
  faults: NetworkFaults
  readonly #clock: VirtualClock
  readonly #rng: Rng
  readonly #coordinator: SimCoordinator
  readonly #isolated = new Set<string>()
  /** Open push connections, by device: a partition or a crash breaks them. */
  readonly #channels = new Map<string, Set<() => void>>()
  readonly counters = { calls: 0, lost: 0, duplicated: 0, refused: 0, pushBreaks: 0 }
  /** Told of each call the server answered (for verbose traces). */
  onAnswer: ((device: string, what: string, status: number, body: string) => void) | undefined

  constructor(clock: VirtualClock, rng: Rng, coordinator: SimCoordinator, faults: NetworkFaults) {
    this.#clock = clock
    this.#rng = rng
    this.#coordinator = coordinator
    this.faults = faults
  }

  isolate(device: string): void {
    this.#isolated.add(device)
    this.breakChannels(device)
  }

  heal(device: string): void {
    this.#isolated.delete(device)
  }

  isolated(device: string): boolean {
    return this.#isolated.has(device)
  }

  /** Breaks the device's push connections, or everyone's. */
  breakChannels(device?: string): void {
    for (const [name, closers] of this.#channels) {
      if (device !== undefined && name !== device) continue
      for (const close of [...closers]) close()
    }
  }

  delay(): number {
    if (this.#rng.chance(this.faults.slow)) return this.#rng.int(200, 3_000)
    return this.#rng.int(1, 20)
  }

  /** HTTP calls of one device incarnation; when it dies, its calls never return. */
  transport(device: string, alive: () => boolean): HttpTransport {
    const clock = this.#clock.clockFor(alive)
    return async (call) => {
      this.counters.calls++
      const start = clock.now()
      const timeout = Math.min(call.timeoutMs, CALL_TIMEOUT_MS)
      const give = async (why: string): Promise<never> => {
        await clock.sleep(Math.max(0, start + timeout - clock.now()), call.signal ?? undefined)
        throw new CloudsyncError('UNAVAILABLE', `${call.what} timed out (${why})`)
      }
      if (this.#isolated.has(device)) return give('partitioned')
      if (this.#rng.chance(this.faults.loss)) {
        this.counters.lost++
        return give('request lost')
      }
      await clock.sleep(this.delay(), call.signal ?? undefined)
      if (this.#isolated.has(device)) return give('partitioned')
      const coordinator = this.#coordinator
      if (!coordinator.up) {
        this.counters.refused++
        throw new CloudsyncError('UNAVAILABLE', `${call.what} failed: connection refused`)
      }
      const incarnation = coordinator.incarnation
      if (this.#rng.chance(this.faults.duplicate)) {
        this.counters.duplicated++
        // A copy: the sender may release its buffer once it has its answer.
        const copy = { ...call, body: call.body && copyBody(call.body) }
        this.#clock.at(this.delay(), () => {
          if (coordinator.up && coordinator.incarnation === incarnation)
            void this.#clock.track(coordinator.inject(copy)).catch(() => {})
        })
      }
      const answer = await this.#clock.track(coordinator.inject(call)).catch(() => undefined)
      if (!answer || coordinator.incarnation !== incarnation) return give('coordinator crashed')
      this.onAnswer?.(device, call.what, answer.status, describeBody(call, answer.body))
      if (this.#isolated.has(device)) return give('partitioned')
      if (this.#rng.chance(this.faults.loss)) {
        this.counters.lost++
        return give('answer lost')
      }
      await clock.sleep(this.delay(), call.signal ?? undefined)
      if (!alive()) return hang()
      return checkedAnswer(answer, call.what)
    }
  }

  /** Registers a push connection's closer; returns its removal. */
  register(device: string, close: () => void): () => void {
    let set = this.#channels.get(device)
    if (!set) {
      set = new Set()
      this.#channels.set(device, set)
    }
    set.add(close)
    return () => set.delete(close)
  }

  /** Whether this pushed message breaks its connection instead of arriving. */
  breaksPush(): boolean {
    const breaks = this.#rng.chance(this.faults.pushBreak)
    if (breaks) this.counters.pushBreaks++
    return breaks
  }
}

function copyBody(body: Uint8Array | string): Uint8Array | string {
  return typeof body === 'string' ? body : new Uint8Array(body)
}

function describeBody(
  call: { what: string; body?: Uint8Array | string | undefined },
  answer: Uint8Array,
): string {
  if (call.what.startsWith('chunk')) return ''
  const sent = typeof call.body === 'string' ? call.body.slice(0, 160) : ''
  return `${sent} -> ${Buffer.from(answer.subarray(0, 160)).toString()}`
}

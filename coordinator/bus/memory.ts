/**
 * In-process bus: the embedded default (one coordinator) and the test double. Buses made
 * from one MemoryBusHub see each other's messages, like coordinators sharing one Redis.
 */
import type { Bus, BusErrorReporter, BusHandler, Unsubscribe } from './bus.ts'
import { reportToStderr } from './bus.ts'
import { Subscribers } from './subscribers.ts'

/** The shared medium; a bus made without one gets a hub of its own. */
export class MemoryBusHub {
  readonly buses = new Set<MemoryBus>()
}

export interface MemoryBusConfig {
  hub?: MemoryBusHub
  onHandlerError?: BusErrorReporter
}

export class MemoryBus implements Bus {
  readonly kind = 'memory'
  readonly #hub: MemoryBusHub
  readonly #subscribers: Subscribers
  #closed = false

  constructor(config: MemoryBusConfig = {}) {
    this.#hub = config.hub ?? new MemoryBusHub()
    this.#subscribers = new Subscribers(config.onHandlerError ?? reportToStderr)
    this.#hub.buses.add(this)
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen()
    for (const bus of this.#hub.buses) {
      // Delivered on a later microtask, as over a network: a publisher never runs a
      // subscriber's code inside its own call. Microtasks are FIFO, so order holds.
      queueMicrotask(() => bus.#subscribers.deliver(channel, message))
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<Unsubscribe> {
    this.#assertOpen()
    const { entry } = this.#subscribers.add(channel, handler)
    return async () => {
      this.#subscribers.remove(channel, entry)
    }
  }

  async check(): Promise<void> {
    this.#assertOpen()
  }

  /** In process, delivery never stops while the bus is open. */
  get live(): boolean {
    return !this.#closed
  }

  onLiveChange(): () => void {
    return () => {}
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#hub.buses.delete(this)
    this.#subscribers.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('Bus is closed')
  }
}

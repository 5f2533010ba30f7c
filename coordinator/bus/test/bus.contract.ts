/**
 * The contract every Bus meets, run against each implementation by a small test file.
 * Channels are random per test, so suites sharing one Redis never see each other. "Nothing
 * arrived" is asserted without sleeping: a later marker message from the same publisher
 * arrives after anything published before it.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bus, BusErrorReporter, BusHandler } from '../bus.ts'

export interface BusFixture {
  /** A new bus on the shared medium (for Redis: new connections, as another coordinator). */
  createBus(options?: { onHandlerError?: BusErrorReporter }): Promise<Bus>
  teardown(): Promise<void>
}

export interface Inbox {
  handler: BusHandler
  messages: string[]
  /** Resolves once `count` messages have arrived; fails after two seconds. */
  waitFor(count: number): Promise<string[]>
}

export function inbox(): Inbox {
  const messages: string[] = []
  let wake = () => {}
  return {
    messages,
    handler: (message) => {
      messages.push(message)
      wake()
    },
    async waitFor(count) {
      const deadline = Date.now() + 2000
      while (messages.length < count) {
        const remaining = deadline - Date.now()
        if (remaining <= 0) throw new Error(`got ${messages.length} of ${count} messages`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
      }
      return messages
    },
  }
}

const channel = () => `cloudsync-test:${randomUUID()}`

export function runBusContract(name: string, setup: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fixture: BusFixture
    let bus: Bus
    let other: Bus
    beforeAll(async () => {
      fixture = await setup()
      bus = await fixture.createBus()
      other = await fixture.createBus()
    })
    afterAll(async () => {
      await bus?.close()
      await other?.close()
      await fixture?.teardown()
    })

    it('is ready', async () => {
      await expect(bus.check()).resolves.toBeUndefined()
    })

    it('delivers each message to every subscriber of the channel', async () => {
      const ch = channel()
      const [a, b, c] = [inbox(), inbox(), inbox()]
      await bus.subscribe(ch, a.handler)
      await bus.subscribe(ch, b.handler)
      await other.subscribe(ch, c.handler)
      await bus.publish(ch, 'hello')
      for (const box of [a, b, c]) expect(await box.waitFor(1)).toEqual(['hello'])
    })

    it('keeps channels apart', async () => {
      const [left, right] = [channel(), channel()]
      const [l, r] = [inbox(), inbox()]
      await bus.subscribe(left, l.handler)
      await bus.subscribe(right, r.handler)
      await bus.publish(left, 'for-left')
      await bus.publish(right, 'for-right')
      expect(await r.waitFor(1)).toEqual(['for-right'])
      expect(await l.waitFor(1)).toEqual(['for-left'])
    })

    it('stops delivering to an unsubscribed handler only', async () => {
      const ch = channel()
      const [gone, stays] = [inbox(), inbox()]
      const unsubscribe = await bus.subscribe(ch, gone.handler)
      await bus.subscribe(ch, stays.handler)
      await unsubscribe()
      await unsubscribe()
      await bus.publish(ch, 'after')
      expect(await stays.waitFor(1)).toEqual(['after'])
      expect(gone.messages).toEqual([])
    })

    it('resubscribes a channel whose last handler left', async () => {
      const ch = channel()
      const first = inbox()
      await (await bus.subscribe(ch, first.handler))()
      const again = inbox()
      await bus.subscribe(ch, again.handler)
      await other.publish(ch, 'back')
      expect(await again.waitFor(1)).toEqual(['back'])
      expect(first.messages).toEqual([])
    })

    it("keeps one publisher's messages in order", async () => {
      const ch = channel()
      const box = inbox()
      await other.subscribe(ch, box.handler)
      const sent = Array.from({ length: 50 }, (_, i) => `m${i}`)
      await Promise.all(sent.map((m) => bus.publish(ch, m)))
      expect(await box.waitFor(50)).toEqual(sent)
    })

    it('connects separate bus instances both ways', async () => {
      const ch = channel()
      const [here, there] = [inbox(), inbox()]
      await bus.subscribe(ch, here.handler)
      await other.subscribe(ch, there.handler)
      await bus.publish(ch, 'from-bus')
      await other.publish(ch, 'from-other')
      // Two publishers: each one's order holds, their interleaving is free.
      for (const box of [here, there]) {
        expect([...(await box.waitFor(2))].sort()).toEqual(['from-bus', 'from-other'])
      }
    })

    it('keeps delivering when one handler throws, and reports the error', async () => {
      const reported: unknown[] = []
      const own = await fixture.createBus({ onHandlerError: (err) => reported.push(err) })
      try {
        const ch = channel()
        const box = inbox()
        await own.subscribe(ch, () => {
          throw new Error('handler bug')
        })
        await own.subscribe(ch, box.handler)
        await own.publish(ch, 'still')
        expect(await box.waitFor(1)).toEqual(['still'])
        expect(reported).toEqual([expect.objectContaining({ message: 'handler bug' })])
      } finally {
        await own.close()
      }
    })

    it('refuses to publish after close', async () => {
      const own = await fixture.createBus()
      await own.close()
      await expect(own.publish(channel(), 'late')).rejects.toThrow(/closed/)
    })
  })
}

import { describe, expect, it } from 'vitest'
import { UploadPace } from '../upload-pace.ts'

/** Virtual time: each sleep moves the clock on and yields to the other side's loop. */
function virtualClock() {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms
      await new Promise((r) => setImmediate(r))
    },
  }
  return clock
}

const never = new AbortController().signal

describe('UploadPace: the cloud upload and a pulling peer kept in step', () => {
  it('holds the upload while an active peer is far behind, until it catches up', async () => {
    const clock = virtualClock()
    const pace = new UploadPace(clock)
    pace.begin('f')
    await pace.beforeServe('f', 0)
    let released = false
    const upload = pace.beforeUpload('f', 10, never).then(() => {
      released = true
    })
    // The peer keeps asking, 100 ms apart, and comes within three chunks of chunk 10.
    for (let i = 1; i <= 7 && !released; i++) {
      await clock.sleep(100)
      expect(released).toBe(false)
      await pace.beforeServe('f', i)
    }
    await upload
    expect(released).toBe(true)
  })

  it('lets the upload go as soon as the peer goes quiet', async () => {
    const clock = virtualClock()
    const pace = new UploadPace(clock)
    pace.begin('f')
    expect(pace.pulling('f')).toBe(false)
    await pace.beforeServe('f', 0)
    expect(pace.pulling('f')).toBe(true)
    const start = clock.now()
    await pace.beforeUpload('f', 50, never)
    expect(clock.now() - start).toBeLessThanOrEqual(310)
    await clock.sleep(6_000)
    expect(pace.pulling('f')).toBe(false)
  })

  it('holds a peer far ahead of the upload briefly, and never without an upload under way', async () => {
    const clock = virtualClock()
    const pace = new UploadPace(clock)
    pace.begin('f')
    // No PUT started yet (everything may be in the cloud already): no wait.
    let start = clock.now()
    await pace.beforeServe('f', 40)
    expect(clock.now()).toBe(start)
    await pace.beforeUpload('f', 0, never)
    start = clock.now()
    await pace.beforeServe('f', 41)
    expect(clock.now() - start).toBeGreaterThanOrEqual(2_000)
    // Once every PUT is under way, peers are served at once.
    pace.uploadSent('f')
    start = clock.now()
    await pace.beforeServe('f', 60)
    expect(clock.now()).toBe(start)
  })
})

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

  it('serves a peer far ahead of the upload at once: the LAN never waits for the uplink', async () => {
    const clock = virtualClock()
    const pace = new UploadPace(clock)
    pace.begin('f')
    await pace.beforeUpload('f', 0, never)
    const start = clock.now()
    await pace.beforeServe('f', 41)
    await pace.beforeServe('f', 90)
    expect(clock.now()).toBe(start)
    // The upload, far behind the peer, is not held either.
    await pace.beforeUpload('f', 1, never)
    expect(clock.now()).toBe(start)
  })
})

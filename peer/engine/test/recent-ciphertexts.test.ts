import { describe, expect, it } from 'vitest'
import { RecentCiphertexts } from '../recent-ciphertexts.ts'

const bytes = (n: number) => new Uint8Array(n)

/** `make(id)` makes a 10-byte ciphertext and notes `id` in `made`. */
function recordingMaker() {
  const made: string[] = []
  const make = (id: string) => async () => {
    made.push(id)
    return bytes(10)
  }
  return { made, make }
}

describe('RecentCiphertexts: one encryption shared by the cloud upload and a peer', () => {
  it('makes a chunk once for callers that ask while it is made or kept', async () => {
    let hits = 0
    const recent = new RecentCiphertexts(100, () => hits++)
    let made = 0
    const make = async () => {
      made++
      return bytes(10)
    }
    const [x, y] = await Promise.all([recent.get('a', 10, make), recent.get('a', 10, make)])
    expect(x).toBe(y)
    await recent.get('a', 10, make)
    expect({ made, hits }).toEqual({ made: 1, hits: 2 })
  })

  it('takes an encoder’s ciphertexts while they fit, and hands them out unmade', async () => {
    const recent = new RecentCiphertexts(25)
    const { made, make } = recordingMaker()
    const first = bytes(10)
    expect(recent.offer('a', first)).toBe(true)
    expect(recent.offer('b', bytes(10))).toBe(true)
    // Nothing is pushed out for an offer: what is there is still awaited.
    expect(recent.offer('c', bytes(10))).toBe(false)
    expect(recent.offer('a', bytes(10))).toBe(false)
    expect(await recent.get('a', 10, make('a'))).toBe(first)
    await recent.get('b', 10, make('b'))
    await recent.get('c', 10, make('c'))
    expect(made).toEqual(['c'])
  })

  it('evicts, beyond its budget, what someone already took before what nobody has yet', async () => {
    const recent = new RecentCiphertexts(25)
    const { made, make } = recordingMaker()
    await recent.get('a', 10, make('a'))
    await recent.get('b', 10, make('b'))
    await recent.get('a', 10, make('a')) // a has served its second caller
    await recent.get('c', 10, make('c')) // over budget: a goes, not b, though b is older
    await recent.get('b', 10, make('b'))
    await recent.get('d', 10, make('d')) // b was taken too, and is older than c
    await recent.get('c', 10, make('c'))
    await recent.get('e', 10, make('e')) // c, taken, goes before d
    await recent.get('d', 10, make('d'))
    expect(made).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('evicts the oldest when nobody took anything, and keeps nothing when told not to', async () => {
    const recent = new RecentCiphertexts(25)
    const { made, make } = recordingMaker()
    await recent.get('a', 10, make('a'))
    await recent.get('b', 10, make('b'))
    await recent.get('c', 10, make('c')) // over budget: a goes
    await recent.get('b', 10, make('b'))
    await recent.get('a', 10, make('a'))
    await recent.get('d', 10, make('d'), false)
    await recent.get('d', 10, make('d'))
    expect(made).toEqual(['a', 'b', 'c', 'a', 'd', 'd'])
  })

  it('keeps nothing once cleared', async () => {
    const recent = new RecentCiphertexts(100)
    let made = 0
    const make = async () => {
      made++
      return bytes(10)
    }
    await recent.get('a', 10, make)
    recent.clear()
    await recent.get('a', 10, make)
    expect(made).toBe(2)
  })

  it('forgets a failed make, so the next caller tries again', async () => {
    const recent = new RecentCiphertexts(100)
    await expect(
      recent.get('a', 10, async () => Promise.reject(new Error('file changed'))),
    ).rejects.toThrow('file changed')
    expect(await recent.get('a', 10, async () => bytes(3))).toHaveLength(3)
  })
})

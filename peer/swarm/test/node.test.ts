import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHUNK_PROTOCOL } from '../../../protocol/constants.ts'
import { decodeNodeKey, encodeNodeKey, generateNodeKey, peerIdOf } from '../node.ts'
import { type Device, newAccount, startDevice, stopAll } from './helpers.ts'

describe('the swarm node', () => {
  let device: Device
  beforeAll(async () => {
    device = await startDevice(newAccount())
  })
  afterAll(() => stopAll([device]))

  it('keeps its identity across a save and load of its key', async () => {
    const key = await generateNodeKey()
    const loaded = decodeNodeKey(encodeNodeKey(key))
    expect(peerIdOf(loaded)).toBe(peerIdOf(key))
    expect(loaded.type).toBe('Ed25519')
  })

  it('listens only where told, under its own peer id', () => {
    expect(device.addresses.length).toBeGreaterThan(0)
    for (const a of device.addresses) {
      expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
      expect(a.endsWith(device.peerId)).toBe(true)
    }
  })

  it('speaks the chunk protocol and runs no discovery unless asked', () => {
    expect(device.node.getProtocols()).toContain(CHUNK_PROTOCOL)
    expect(Object.keys(device.node.services).sort()).toEqual(['chunks', 'identify'])
  })
})

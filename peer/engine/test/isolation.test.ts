import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCoordinator, type TestCoordinator } from '../../adapters/test/coordinator-harness.ts'
import { type Device, devicesOf, eventually, hash, text } from './two-devices.ts'

let t: TestCoordinator
let a: Device
let b: Device

beforeAll(async () => {
  t = await startCoordinator()
  ;[a, b] = (await devicesOf(t, 2, { refuseUploads: (path) => path.startsWith('refused/') })) as [
    Device,
    Device,
  ]
  await Promise.all([a.engine.start(), b.engine.start()])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
  await t?.close()
})

describe('a local change that keeps failing', () => {
  it('holds back neither the other files nor the deletes of its batch', async () => {
    a.fs.writeFile('old.txt', text('to be deleted'))
    await eventually(() => expect(b.fs.readFile('old.txt')).toBeDefined())
    // One batch: a file the coordinator refuses, a good file, and a delete.
    a.fs.writeFile('refused/bad.txt', text('never accepted'))
    a.fs.writeFile('good.txt', text('accepted'))
    a.fs.deleteFile('old.txt')
    await eventually(() => expect(hash(b.fs.readFile('good.txt'))).toBe(hash(text('accepted'))))
    await eventually(() => expect(b.fs.readFile('old.txt')).toBeUndefined())
    expect(b.fs.readFile('refused/bad.txt')).toBeUndefined()
  })
})

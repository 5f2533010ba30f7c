import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DeviceControls } from '../controls.ts'
import { SETTINGS_FILE } from '../settings.ts'

const dir = await mkdtemp(join(tmpdir(), 'cloudsync-controls-'))
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('device controls', () => {
  it('start unpaused and unlimited', async () => {
    const controls = await DeviceControls.load(join(dir, 'fresh'))
    expect(controls.settings()).toEqual({
      paused: false,
      limits: { cloudUp: 0, cloudDown: 0, lanUp: 0, lanDown: 0 },
    })
  })

  it('keep a pause and the limits across a restart, and apply them at once', async () => {
    const before = await DeviceControls.load(dir)
    await before.pause()
    await before.setLimits({ cloudUp: 5 * 1024 * 1024, lanDown: 512_000 })
    expect(before.gate.paused).toBe(true)
    expect(before.limits.cloudUp.rate).toBe(5 * 1024 * 1024)
    const after = await DeviceControls.load(dir)
    expect(after.paused).toBe(true)
    expect(after.limits.cloudUp.rate).toBe(5 * 1024 * 1024)
    expect(after.limits.lanDown.rate).toBe(512_000)
    expect(after.limits.cloudDown.rate).toBe(0)
    await after.resume()
    expect((await DeviceControls.load(dir)).paused).toBe(false)
  })

  it('a settings file that does not parse gives the defaults, not a crash', async () => {
    await writeFile(join(dir, SETTINGS_FILE), '{"paused": tru')
    const controls = await DeviceControls.load(dir)
    expect(controls.paused).toBe(false)
    await controls.setLimits({ lanUp: 1000 })
    expect(JSON.parse(await readFile(join(dir, SETTINGS_FILE), 'utf8')).limits.lanUp).toBe(1000)
  })
})

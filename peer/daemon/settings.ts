import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkedLimits, NO_LIMITS, type RateLimits } from '../limits/rate-text.ts'

/**
 * What the user set on this device and what outlives a restart, in
 * `<state dir>/settings.json`: paused or not, and the four rate limits.
 */
export interface DeviceSettings {
  paused: boolean
  limits: RateLimits
}

export const SETTINGS_FILE = 'settings.json'

export const DEFAULT_SETTINGS: DeviceSettings = { paused: false, limits: { ...NO_LIMITS } }

/** The saved settings; defaults when there are none, and for any field that does not check. */
export async function loadSettings(stateDir: string): Promise<DeviceSettings> {
  const text = await readFile(join(stateDir, SETTINGS_FILE), 'utf8').catch(() => undefined)
  if (text === undefined) return structuredClone(DEFAULT_SETTINGS)
  let saved: Partial<DeviceSettings>
  try {
    saved = JSON.parse(text) as Partial<DeviceSettings>
  } catch {
    return structuredClone(DEFAULT_SETTINGS)
  }
  let limits: Partial<RateLimits> = {}
  try {
    limits = checkedLimits(saved.limits ?? {})
  } catch {}
  return { paused: saved.paused === true, limits: { ...NO_LIMITS, ...limits } }
}

/** Written aside and renamed: a crash never leaves half a file. */
export async function saveSettings(stateDir: string, settings: DeviceSettings): Promise<void> {
  const file = join(stateDir, SETTINGS_FILE)
  await writeFile(`${file}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 })
  await rename(`${file}.tmp`, file)
}

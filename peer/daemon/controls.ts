import { PauseGate } from '../engine/pause-gate.ts'
import { RateLimit } from '../limits/rate-limit.ts'
import { LIMIT_NAMES, type RateLimits } from '../limits/rate-text.ts'
import { type DeviceSettings, loadSettings, saveSettings } from './settings.ts'

/**
 * What a user changes on a running device: pause and resume, and the four rate limits.
 * Every change applies at once and is saved in the state dir, so it survives a restart.
 */
export class DeviceControls {
  readonly gate: PauseGate
  readonly limits: Record<keyof RateLimits, RateLimit>
  readonly #stateDir: string
  /** Saves one after another, the last state last. */
  #saving: Promise<void> = Promise.resolve()

  private constructor(stateDir: string, settings: DeviceSettings) {
    this.#stateDir = stateDir
    this.gate = new PauseGate(settings.paused)
    this.limits = {
      cloudUp: new RateLimit(settings.limits.cloudUp),
      cloudDown: new RateLimit(settings.limits.cloudDown),
      lanUp: new RateLimit(settings.limits.lanUp),
      lanDown: new RateLimit(settings.limits.lanDown),
    }
  }

  static async load(stateDir: string): Promise<DeviceControls> {
    return new DeviceControls(stateDir, await loadSettings(stateDir))
  }

  get paused(): boolean {
    return this.gate.paused
  }

  settings(): DeviceSettings {
    const limits = Object.fromEntries(LIMIT_NAMES.map((n) => [n, this.limits[n].rate]))
    return { paused: this.gate.paused, limits: limits as unknown as RateLimits }
  }

  async pause(): Promise<void> {
    this.gate.pause()
    await this.#save()
  }

  async resume(): Promise<void> {
    this.gate.resume()
    await this.#save()
  }

  /** Sets the limits given (checked beforehand: rate-text.ts `checkedLimits`). */
  async setLimits(limits: Partial<RateLimits>): Promise<void> {
    for (const name of LIMIT_NAMES) {
      const rate = limits[name]
      if (rate !== undefined) this.limits[name].setRate(rate)
    }
    await this.#save()
  }

  #save(): Promise<void> {
    const settings = this.settings()
    const saved = this.#saving.then(() => saveSettings(this.#stateDir, settings))
    this.#saving = saved.catch(() => {})
    return saved
  }
}

/** The four limits a device keeps, in bytes per second; 0 is unlimited. */
export interface RateLimits {
  cloudUp: number
  cloudDown: number
  lanUp: number
  lanDown: number
}

export const NO_LIMITS: RateLimits = { cloudUp: 0, cloudDown: 0, lanUp: 0, lanDown: 0 }
export const LIMIT_NAMES = ['cloudUp', 'cloudDown', 'lanUp', 'lanDown'] as const

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/**
 * `5M`, `500k`, `1.5m`, `2048`, `0` (unlimited), bytes per second with binary units; an
 * optional trailing `B` or `B/s`. Anything else is an error naming the text.
 */
export function parseRate(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b(?:\/s)?)?\s*$/i.exec(text)
  if (!match) throw new RangeError(`"${text}" is not a rate: use e.g. 5M, 500k or 0 (unlimited)`)
  const value = Math.round(Number(match[1]) * UNITS[match[2]!.toLowerCase()]!)
  if (!Number.isSafeInteger(value)) throw new RangeError(`"${text}" is too large a rate`)
  return value
}

/** `5 MiB/s`, `500 KiB/s`, `unlimited`. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond === 0) return 'unlimited'
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytesPerSecond >= size) return `${+(bytesPerSecond / size).toFixed(1)} ${unit}/s`
  }
  return `${bytesPerSecond} B/s`
}

/** Checks a partial set of limits from outside (the page, the command line). */
export function checkedLimits(input: unknown): Partial<RateLimits> {
  if (typeof input !== 'object' || input === null) throw new RangeError('limits must be an object')
  const out: Partial<RateLimits> = {}
  for (const [key, value] of Object.entries(input)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(key))
      throw new RangeError(`unknown limit "${key}": use ${LIMIT_NAMES.join(', ')}`)
    const rate = typeof value === 'string' ? parseRate(value) : value
    if (typeof rate !== 'number' || !Number.isSafeInteger(rate) || rate < 0)
      throw new RangeError(`limit ${key} must be a rate such as 5M, 500k or 0`)
    out[key as keyof RateLimits] = rate
  }
  return out
}

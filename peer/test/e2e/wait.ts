/** Bounded waits for the end-to-end tests. */

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
  /** Named in the error when the wait times out. */
  what: string
}

/**
 * Polls `condition` until it returns a value other than false/undefined/null; throws
 * (naming `what` and the last error the condition threw) after `timeoutMs`.
 */
export async function waitFor<T>(
  condition: () => T | false | undefined | null | Promise<T | false | undefined | null>,
  { timeoutMs = 30_000, intervalMs = 100, what }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await condition()
      if (value !== false && value !== undefined && value !== null) return value
      lastError = undefined
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${(lastError as Error).message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleep(intervalMs)
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

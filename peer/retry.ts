/**
 * Retry with exponential backoff and jitter, for calls whose failure says "try again
 * later" (UNAVAILABLE, BUSY). Every other error (STALE_BASE, NOT_FOUND, a bad credential)
 * is an answer, and is thrown at once. The clock and the randomness are injectable so the
 * simulator replays the same delays.
 */
import { isCloudsyncError } from '../protocol/errors.ts'
import { type Clock, systemClock } from './ports/clock.ts'

export interface RetryOptions {
  /** Tries in all, the first included (>= 1). */
  attempts: number
  /** Delay ceiling before the second try; it doubles per try up to `maxMs`. */
  baseMs: number
  maxMs: number
  signal?: AbortSignal
  clock?: Clock
  /** In [0, 1); Math.random unless the caller needs repeatable delays. */
  random?: () => number
  /** Which errors to retry; UNAVAILABLE and BUSY by default. */
  retryable?: (err: unknown) => boolean
  /** Told before each wait (for logs and counters). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
}

export function isRetryable(err: unknown): boolean {
  return isCloudsyncError(err, 'UNAVAILABLE') || isCloudsyncError(err, 'BUSY')
}

/**
 * The delay before try `attempt + 1` (attempt counts from 1): "equal jitter", half fixed and
 * half random, so devices that failed together do not come back together, and no wait is
 * ever near zero.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'baseMs' | 'maxMs' | 'random'>,
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt - 1, 30))
  const random = options.random ?? Math.random
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** Runs `fn` until it succeeds, fails with a final error, or the tries run out. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const clock = options.clock ?? systemClock
  const retryable = options.retryable ?? isRetryable
  const attempts = Math.max(1, Math.floor(options.attempts))
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return await fn(attempt)
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason
      if (attempt >= attempts || !retryable(err)) throw err
      const delay = backoffDelay(attempt, options)
      options.onRetry?.(err, attempt, delay)
      await clock.sleep(delay, options.signal)
    }
  }
}

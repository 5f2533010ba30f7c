import type { Static, TSchema } from 'typebox'
import { CloudsyncError } from '../errors.ts'
import type { Parser } from '../validate.ts'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Frame or body text to a value: bytes must be UTF-8, the text JSON. */
export function readJson(raw: string | Uint8Array, what = 'message'): unknown {
  let text: string
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw)
  } catch {
    throw new CloudsyncError('INVALID_INPUT', `Invalid ${what}: not UTF-8`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new CloudsyncError(
      'INVALID_INPUT',
      `Invalid ${what}: not JSON (${(err as Error).message})`,
    )
  }
}

/** Parses JSON text and checks it against a schema; throws INVALID_INPUT either way. */
export function parseJson<T extends TSchema>(
  raw: string | Uint8Array,
  schema: Parser<T>,
  what = 'message',
): Static<T> {
  return schema.parse(readJson(raw, what))
}

/**
 * Reads a chunk body from a stream while hashing and counting it, handing each piece to a
 * sink. Shared by the served stores so the disk and memory backends verify uploads the same
 * way; the sink's owner commits only when this resolves.
 */
import { createHash } from 'node:crypto'
import { CloudsyncError } from '../../protocol/errors.ts'
import { assertBlobKey, assertBlobSize, chunkIdOfKey } from './blob-checks.ts'

export async function receiveChunk(
  key: string,
  source: AsyncIterable<Uint8Array>,
  size: number,
  write: (piece: Uint8Array) => Promise<void> | void,
): Promise<void> {
  assertBlobKey(key)
  assertBlobSize(size)
  const hash = createHash('sha256')
  let received = 0
  for await (const piece of source) {
    received += piece.byteLength
    // Stop reading at the first byte past the signed size: a sender cannot make us store
    // (or even hash) more than it was allowed to.
    if (received > size) {
      throw new CloudsyncError('TOO_LARGE', `Body exceeds the signed size of ${size} bytes`, {
        size,
      })
    }
    hash.update(piece)
    await write(piece)
  }
  if (received !== size) {
    throw new CloudsyncError(
      'CHUNK_CORRUPT',
      `Body has ${received} bytes; the URL was signed for ${size}`,
      { size, received },
    )
  }
  const actual = hash.digest('hex')
  if (actual !== chunkIdOfKey(key)) {
    throw new CloudsyncError('CHUNK_CORRUPT', `Chunk bytes hash to ${actual}, not to ${key}`, {
      key,
      actual,
    })
  }
}

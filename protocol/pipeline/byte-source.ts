/**
 * Where the pipeline reads a file from. `readInto` lets a file handle fill the pipeline's
 * shared buffers directly (no copy); any async iterable of byte buffers also works.
 */
export interface ByteSource {
  /** Fills `into` from the current position; resolves to the bytes read, 0 at the end. */
  readInto(into: Uint8Array): Promise<number>
}

export function sourceFromIterable(
  iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): ByteSource {
  const it =
    Symbol.asyncIterator in iterable
      ? iterable[Symbol.asyncIterator]()
      : iterable[Symbol.iterator]()
  let rest: Uint8Array | undefined
  return {
    async readInto(into) {
      while (!rest || rest.length === 0) {
        const next = await it.next()
        if (next.done) return 0
        rest = next.value
      }
      const n = Math.min(into.length, rest.length)
      into.set(rest.subarray(0, n))
      rest = rest.subarray(n)
      return n
    },
  }
}

export function sourceFromBytes(bytes: Uint8Array): ByteSource {
  return sourceFromIterable([bytes])
}

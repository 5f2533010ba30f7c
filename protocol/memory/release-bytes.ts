/**
 * Gives a buffer's memory back now, not at V8's next major collection. A buffer's bytes
 * live outside the JavaScript heap, and V8 (and buffer-collector.ts) start a full mark
 * of the heap each time enough of them have been allocated since the last one: for a
 * daemon moving gigabytes, a large share of its CPU.
 * Detaching the buffer (transferring its contents to nothing) frees them at once and
 * leaves the collector nothing to count.
 *
 * Size is no exception: the 64 KiB slices a cipher hands back count toward that trigger
 * like chunk-sized buffers do, and there are as many bytes of them as of chunks.
 *
 * Only for buffers the caller owns whole: a view into a larger or shared buffer (Node's
 * pool of small buffers, say) is left alone, as is one that cannot be detached. After
 * this the view has length 0, so a use it was wrongly still meant for reads nothing.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const { buffer } = bytes
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return
  if (bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength) return
  try {
    buffer.transfer(0)
  } catch {
    // Not detachable (owned by the runtime): the collector will take it.
  }
}

// FastCDC's hot loop (normalized chunking), compiled to WebAssembly by ../build.ts.
// The host writes the 256-entry gear table at GEAR and the bytes to scan at INPUT.
// State (hash and bytes of the current chunk seen so far) survives across calls, so cut
// points never depend on how the input was split into reads.

const GEAR: usize = 0
const INPUT: usize = 2048

let fp: u64 = 0
let seen: u32 = 0

export function inputOffset(): usize {
  return INPUT
}

export function reset(): void {
  fp = 0
  seen = 0
}

/** Counts n bytes below minSize as seen without scanning them (the host skips copying them). */
export function advance(n: u32): void {
  seen += n
}

/** Bytes of the current (unfinished) chunk scanned so far. */
export function chunkBytes(): u32 {
  return seen
}

@inline
function roll(h: u64, at: usize): u64 {
  return (h << 1) + load<u64>(GEAR + ((<usize>load<u8>(at)) << 3))
}

/**
 * Scans INPUT[start, end). Returns the index just past the first cut point, or -1 when the
 * range ends without one. Bytes before minSize are skipped unhashed (a cut there is not
 * allowed, and the gear hash only remembers the last 64 bytes anyway); up to normalSize the
 * stricter maskS applies, then maskL; at maxSize the cut is forced.
 */
export function scan(
  start: u32,
  end: u32,
  minSize: u32,
  normalSize: u32,
  maxSize: u32,
  maskS: u64,
  maskL: u64,
): i32 {
  const base = seen - start // chunk bytes seen before INPUT[0], so seen-at-i = base + i
  let h = fp
  let i = start
  if (base + i < minSize) i = min(end, minSize - base)

  let stop = base + i < normalSize ? min(end, normalSize - base) : i
  while (i + 4 <= stop) {
    h = roll(h, INPUT + i)
    if ((h & maskS) == 0) return cut(i + 1)
    h = roll(h, INPUT + i + 1)
    if ((h & maskS) == 0) return cut(i + 2)
    h = roll(h, INPUT + i + 2)
    if ((h & maskS) == 0) return cut(i + 3)
    h = roll(h, INPUT + i + 3)
    if ((h & maskS) == 0) return cut(i + 4)
    i += 4
  }
  while (i < stop) {
    h = roll(h, INPUT + i)
    i++
    if ((h & maskS) == 0) return cut(i)
  }

  stop = min(end, maxSize - base)
  while (i + 4 <= stop) {
    h = roll(h, INPUT + i)
    if ((h & maskL) == 0) return cut(i + 1)
    h = roll(h, INPUT + i + 1)
    if ((h & maskL) == 0) return cut(i + 2)
    h = roll(h, INPUT + i + 2)
    if ((h & maskL) == 0) return cut(i + 3)
    h = roll(h, INPUT + i + 3)
    if ((h & maskL) == 0) return cut(i + 4)
    i += 4
  }
  while (i < stop) {
    h = roll(h, INPUT + i)
    i++
    if ((h & maskL) == 0) return cut(i)
  }
  if (base + i == maxSize) return cut(i)

  fp = h
  seen = base + end
  return -1
}

@inline
function cut(at: u32): i32 {
  fp = 0
  seen = 0
  return <i32>at
}

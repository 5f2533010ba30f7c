/**
 * Imported first by the command line, for its side effect: process settings that must be
 * in place before the process starts, so it re-executes itself with them.
 *
 * glibc's malloc, left to its
 * defaults, keeps most of what a chunk-moving process frees. Chunk buffers (megabytes
 * each) land in its heap once its adaptive mmap threshold has risen past their size, and
 * every thread doing crypto or file I/O gets an arena of its own; freed, that memory stays
 * resident. A daemon that had moved one 1 GiB file idled at 490 MB RSS; with a fixed mmap
 * threshold (large buffers mapped and unmapped one by one) and two arenas, at 260 MB.
 *
 * glibc reads these settings once, at process start, so when they are missing the process
 * re-executes itself with them (execve: same pid, same arguments, nothing else changes).
 * Settings the user gave are kept.
 */
const TUNING: Record<string, string> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(128 * 1024),
}

/**
 * The sync daemon takes its chunk buffers (up to a maximum chunk and its tag, 16 MiB) from
 * malloc's heap instead, and hands the heap's top back only beyond 4 MiB free. Mapped one
 * by one, each chunk-sized buffer was a fresh mapping whose every page the kernel faulted
 * in and zeroed, and fresh pages are dear on this virtual machine. The encoder's 24 MiB
 * slabs stay above the threshold, so they still go back whole. During a 1 GiB transfer,
 * interleaved runs: 51-52 MB/s before, 57-58 after; the uploader's kernel share 17-21% of
 * its CPU before, 13-14% after; peaks 259-260 / 249-255 MB before, 279-282 / 255-265
 * after; RSS once done 212-213 / 215-224 MB before, 232-244 / 228 after.
 */
const DAEMON_TUNING: Record<string, string> = {
  ...TUNING,
  MALLOC_MMAP_THRESHOLD_: String(20 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(4 * 1024 * 1024),
}

/**
 * For the processes that move chunk bytes (the daemon, and the coordinator whose embedded
 * blob store receives them): V8 otherwise starts a full mark of the heap for every ~64 MB
 * of array buffers allocated, about 120 per GiB a daemon receives and 65 per GiB the
 * coordinator stores. They free their big buffers themselves and collect the rest on
 * their own schedule (protocol/memory/buffer-collector.ts). A command-line flag, not one
 * set at run time: set late, V8 kept part of its old limit.
 */
const CHUNK_MOVER_V8_FLAGS = ['--external-memory-accounted-in-global-limit']

/**
 * The daemon's heap, sized for moving chunks with a small JavaScript heap (~30 MB live):
 * - `--heap-growing-percent=100`: after each full collection V8 let the heap (array
 *   buffers included, above) grow by only ~10% before the next, as a process allocating
 *   little JavaScript looks to it like one that should stay small: 58 full collections on
 *   the sender of a 1 GiB transfer, 48 on the receiver, their marking a third of the
 *   machine's CPU. Doubling gave 23 and 18. The buffer collector still bounds the garbage.
 * - `--max-semi-space-size=4` (MB): the receiver's young generation had grown to its
 *   16 MB default, 97 MB of heap committed for 30 live; its peak fell by 30-50 MB.
 * bench:sync, interleaved, with the collector's floor following (buffer-collector.ts):
 * 145-152 MB/s against 122-130 without the flags, peaks A / B 271-286 / 228-239 MB
 * against 264-284 / 266-271.
 */
const DAEMON_V8_FLAGS = [
  ...CHUNK_MOVER_V8_FLAGS,
  '--heap-growing-percent=100',
  '--max-semi-space-size=4',
]

const command = process.argv[2] ?? ''
const flags =
  command === 'sync' ? DAEMON_V8_FLAGS : command === 'coordinator' ? CHUNK_MOVER_V8_FLAGS : []
const tuning = command === 'sync' ? DAEMON_TUNING : TUNING
const missingFlags = flags.filter((flag) => !process.execArgv.includes(flag))

if (
  process.platform === 'linux' &&
  typeof process.execve === 'function' &&
  (missingFlags.length > 0 || Object.keys(tuning).some((name) => process.env[name] === undefined))
) {
  process.execve(
    process.execPath,
    [process.execPath, ...missingFlags, ...process.execArgv, ...process.argv.slice(1)],
    { ...tuning, ...process.env },
  )
}

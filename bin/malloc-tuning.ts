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
 * For the processes that move chunk bytes (the daemon, and the coordinator whose embedded
 * blob store receives them): V8 otherwise starts a full mark of the heap for every ~64 MB
 * of array buffers allocated, about 120 per GiB a daemon receives and 65 per GiB the
 * coordinator stores. They free their big buffers themselves and collect the rest on
 * their own schedule (protocol/runtime/buffer-collector.ts). A command-line flag, not one
 * set at run time: set late, V8 kept part of its old limit.
 */
const CHUNK_MOVER_V8_FLAGS = ['--external-memory-accounted-in-global-limit']

const flags = ['sync', 'coordinator'].includes(process.argv[2] ?? '') ? CHUNK_MOVER_V8_FLAGS : []
const missingFlags = flags.filter((flag) => !process.execArgv.includes(flag))

if (
  process.platform === 'linux' &&
  typeof process.execve === 'function' &&
  (missingFlags.length > 0 || Object.keys(TUNING).some((name) => process.env[name] === undefined))
) {
  process.execve(
    process.execPath,
    [process.execPath, ...missingFlags, ...process.execArgv, ...process.argv.slice(1)],
    { ...TUNING, ...process.env },
  )
}

/**
 * Process tuning for the commands that move chunk bytes: glibc's malloc settings and V8
 * flags. Both are read once, at process start, so a command that lacks its tuning
 * re-executes itself with it (execve: same pid, same arguments, nothing else changes)
 * before it does anything. Each command declares the tuning it needs (`declareTuning`);
 * the command line applies the declared tuning before the command's action runs
 * (`tuneProcess`). Settings the user gave are kept.
 */

export interface ProcessTuning {
  /** Environment variables glibc reads at start; set only where the user left them unset. */
  readonly env: Readonly<Record<string, string>>
  /** V8 flags the process must start with. */
  readonly v8Flags: readonly string[]
}

/**
 * glibc's malloc, left to its defaults, keeps most of what a chunk-moving process frees:
 * chunk buffers (megabytes each) land in its heap once its adaptive mmap threshold has
 * risen past their size, and every thread doing crypto or file I/O gets an arena of its
 * own; freed, that memory stays resident. A fixed mmap threshold (large buffers mapped
 * and unmapped one by one) and two arenas keep an idle process small.
 */
const MALLOC: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: String(128 * 1024),
}

/**
 * The sync daemon takes its chunk buffers (up to a maximum chunk and its tag, 16 MiB) from
 * malloc's heap instead, and hands the heap's top back only beyond 4 MiB free: mapped one
 * by one, each chunk-sized buffer was a fresh mapping whose every page the kernel faulted
 * in and zeroed, which costs more CPU than the memory it saves. The encoder's 24 MiB slabs
 * stay above the threshold, so they still go back whole. The price: a daemon holds some
 * memory more once a transfer is done.
 */
const DAEMON_MALLOC: Readonly<Record<string, string>> = {
  ...MALLOC,
  MALLOC_MMAP_THRESHOLD_: String(20 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(4 * 1024 * 1024),
}

/**
 * For the processes that move chunk bytes (the daemon, and the coordinator whose embedded
 * blob store receives them): without it V8 starts a full mark of the heap for every
 * ~64 MB of array buffers allocated, live or not. These processes free their big buffers
 * themselves and collect the rest on their own schedule (buffer-collector.ts). A
 * command-line flag, not one set at run time: set late, V8 kept part of its old limit.
 */
const CHUNK_MOVER_V8_FLAGS = ['--external-memory-accounted-in-global-limit']

/**
 * The daemon's heap, sized for moving chunks with a small JavaScript heap:
 * - `--heap-growing-percent=100`: otherwise V8 lets the heap (array buffers included,
 *   above) grow by only about a tenth after each full collection, since a process that
 *   allocates little JavaScript looks to it like one that should stay small, and full
 *   collections then take a large share of the CPU. The buffer collector still bounds
 *   the garbage.
 * - `--max-semi-space-size=4` (MB): the young generation otherwise grows to its 16 MB
 *   default, committing far more heap than is live.
 */
const DAEMON_V8_FLAGS = [
  ...CHUNK_MOVER_V8_FLAGS,
  '--heap-growing-percent=100',
  '--max-semi-space-size=4',
]

/** Every command: malloc kept small. */
export const COMMAND_TUNING: ProcessTuning = { env: MALLOC, v8Flags: [] }
/** The coordinator: its embedded blob store receives chunk bytes. */
export const CHUNK_MOVER_TUNING: ProcessTuning = { env: MALLOC, v8Flags: CHUNK_MOVER_V8_FLAGS }
/** The sync daemon: moves chunk bytes all day, both ways. */
export const DAEMON_TUNING: ProcessTuning = { env: DAEMON_MALLOC, v8Flags: DAEMON_V8_FLAGS }

const declared = new WeakMap<object, ProcessTuning>()

/** Declares the tuning a command needs (a commander Command); answers the command. */
export function declareTuning<T extends object>(command: T, tuning: ProcessTuning): T {
  declared.set(command, tuning)
  return command
}

/** The tuning a command declared; COMMAND_TUNING when it declared none. */
export function declaredTuning(command: object): ProcessTuning {
  return declared.get(command) ?? COMMAND_TUNING
}

/**
 * Re-executes the process with `tuning` when any of it is missing; returns when nothing
 * is (or where execve is not available: then the process runs untuned).
 */
export function tuneProcess(tuning: ProcessTuning): void {
  const missingFlags = tuning.v8Flags.filter((flag) => !process.execArgv.includes(flag))
  const missingEnv = Object.keys(tuning.env).some((name) => process.env[name] === undefined)
  if (process.platform !== 'linux' || typeof process.execve !== 'function') return
  if (missingFlags.length === 0 && !missingEnv) return
  process.execve(
    process.execPath,
    [process.execPath, ...missingFlags, ...process.execArgv, ...process.argv.slice(1)],
    { ...tuning.env, ...process.env },
  )
}

/**
 * Test fixture: loads the command line's process tuning for the command given as the
 * first argument (it may re-execute this file with it), then prints what the process runs
 * with.
 */
import '../../protocol/memory/process-tuning.ts'

process.stdout.write(
  JSON.stringify({
    execArgv: process.execArgv,
    mmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_,
    arenas: process.env.MALLOC_ARENA_MAX,
  }),
)

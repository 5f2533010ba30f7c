/**
 * Test fixture: registers the command line's commands, applies the tuning the command
 * named by the first argument declares (it may re-execute this file with it), then prints
 * what the process runs with.
 */
import { Command } from 'commander'
import { registerCoordinatorCommands } from '../../coordinator/cli.ts'
import { registerPeerCommands } from '../../peer/cli/index.ts'
import { declaredTuning, tuneProcess } from '../../protocol/memory/process-tuning.ts'

const program = new Command('cloudsync')
registerCoordinatorCommands(program)
registerPeerCommands(program)
const command = program.commands.find((c) => c.name() === process.argv[2])
if (!command) throw new Error(`no command ${process.argv[2]}`)
tuneProcess(declaredTuning(command))

process.stdout.write(
  JSON.stringify({
    execArgv: process.execArgv,
    mmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_,
    arenas: process.env.MALLOC_ARENA_MAX,
  }),
)

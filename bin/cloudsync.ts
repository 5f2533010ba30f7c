/**
 * The one command line: coordinator commands and device commands, composed here (the two
 * sides share only protocol/).
 */
import { Command } from 'commander'
import { registerCoordinatorCommands } from '../coordinator/cli.ts'
import pkg from '../package.json' with { type: 'json' }
import { EXIT, registerPeerCommands, reportError } from '../peer/cli/index.ts'
import { declaredTuning, tuneProcess } from '../protocol/memory/process-tuning.ts'
import { registerDemoCommand } from './demo.ts'

// A reader that stops early (`cloudsync ls | head -1`) is not a failure of ours.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err
  process.exit(EXIT.ok)
})

const program = new Command('cloudsync')
  .description('Peer-assisted cloud storage and sync')
  .version(pkg.version, '-V, --version')
  .showHelpAfterError()
  .exitOverride()
registerCoordinatorCommands(program)
registerPeerCommands(program)
registerDemoCommand(program)
// Before any action runs (commands load their heavy modules only in their action), the
// process takes the tuning its command declared, re-executing itself if it must.
program.hook('preAction', (_program, action) => tuneProcess(declaredTuning(action)))

try {
  await program.parseAsync(process.argv)
} catch (err) {
  const commanderExit = (err as { code?: string; exitCode?: number }).code?.startsWith('commander.')
  if (commanderExit)
    process.exitCode = (err as { exitCode: number }).exitCode === 0 ? EXIT.ok : EXIT.usage
  else {
    const code = (err as { exitCode?: number }).exitCode
    process.exitCode = code ?? reportError(err)
    if (code !== undefined) process.stderr.write(`cloudsync: ${(err as Error).message}\n`)
  }
}

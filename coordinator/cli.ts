/**
 * The coordinator's commands: `coordinator` starts one (embedded defaults unless DATABASE_URL,
 * REDIS_URL or S3_* say otherwise), `account create` asks a running one for a new account.
 */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { CHUNK_MOVER_TUNING, declareTuning } from '../protocol/memory/process-tuning.ts'
import { type Config, ConfigError, dataPaths, loadConfig } from './config.ts'

export function registerCoordinatorCommands(program: Command): void {
  declareTuning(program.command('coordinator'), CHUNK_MOVER_TUNING)
    .description(
      'run a coordinator (PGlite, local blobs and an in-process bus in --data-dir unless configured)',
    )
    .option('-p, --port <port>', 'port to listen on', '8080')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'where the embedded backends keep their files', './cloudsync-data')
    .action(async (opts: { port: string; host: string; dataDir: string }) => {
      let config: Config
      try {
        config = loadConfig(
          { HOST: opts.host, PORT: opts.port, DATA_DIR: opts.dataDir, ...process.env },
          {},
        )
      } catch (err) {
        if (err instanceof ConfigError) throw Object.assign(new Error(err.message), { exitCode: 2 })
        throw err
      }
      // Loaded here, not at the top: every other command of the binary stays light.
      const { startServer } = await import('./server.ts')
      const { url, close } = await startServer(config)
      const backends = [
        config.databaseUrl ? 'Postgres' : `PGlite in ${config.dataDir}`,
        config.redisUrl ? 'Redis bus' : 'in-process bus',
        config.s3 ? `S3 bucket ${config.s3.bucket}` : `local blobs in ${config.dataDir}`,
      ]
      process.stdout.write(`cloudsync coordinator listening on ${url} (${backends.join(', ')})\n`)
      await new Promise<void>((done) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done())
      })
      await close()
    })

  const account = program.command('account').description('operator actions on accounts')
  account
    .command('create')
    .description('create an account and print its first device’s link token')
    .option('-c, --coordinator <url>', 'coordinator URL', 'http://127.0.0.1:8080')
    .option(
      '--data-dir <dir>',
      'the coordinator’s data dir (holds the operator token)',
      './cloudsync-data',
    )
    .option(
      '--operator-token <token>',
      'operator token (default: $OPERATOR_TOKEN, else read from --data-dir)',
    )
    .action(async (opts: { coordinator: string; dataDir: string; operatorToken?: string }) => {
      const token =
        opts.operatorToken ??
        process.env.OPERATOR_TOKEN ??
        (await readFile(dataPaths(opts.dataDir).operatorToken, 'utf8').then(
          (t) => t.trim(),
          () => {
            throw Object.assign(
              new Error(
                `No operator token: pass --operator-token, set OPERATOR_TOKEN, or point --data-dir at the coordinator's data dir`,
              ),
              { exitCode: 2 },
            )
          },
        ))
      const res = await fetch(`${opts.coordinator.replace(/\/+$/, '')}/admin/accounts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      }).catch((err: Error) => {
        throw Object.assign(
          new Error(`Coordinator ${opts.coordinator} unreachable: ${err.message}`),
          { exitCode: 5 },
        )
      })
      const body = (await res.json().catch(() => ({}))) as {
        accountId?: string
        token?: string
        error?: { message: string }
      }
      if (res.status !== 201 || !body.token) {
        throw Object.assign(
          new Error(`Account not created: ${body.error?.message ?? res.statusText}`),
          {
            exitCode: res.status === 401 ? 4 : 1,
          },
        )
      }
      process.stderr.write(`account ${body.accountId}; link its first device with:\n`)
      process.stderr.write(
        `  cloudsync link --coordinator ${opts.coordinator} --token ${body.token} --dir <folder>\n`,
      )
      process.stdout.write(`${body.token}\n`)
    })
}

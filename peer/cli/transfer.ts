import { open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { isFolderMarker, shownPath, validatePath } from '../../protocol/paths.ts'
import { FileAssembler } from '../../protocol/pipeline/assemble.ts'
import { ChunkPipeline } from '../../protocol/pipeline/encode.ts'
import { NodeFileSystem } from '../adapters/node-fs.ts'
import { cloudSource } from '../chunk-sources/cloud-source.ts'
import { ChunkFetcher } from '../chunk-sources/fetcher.ts'
import { secretOf } from '../daemon/device-state.ts'
import { syncIndexOf } from '../daemon/index-port.ts'
import { Uploader } from '../engine/uploader.ts'
import { LocalIndex } from '../local-index/local-index.ts'
import { withRetry } from '../retry.ts'
import { currentVersion, linked } from './linked-api.ts'
import { bytes, CliError, EXIT, progress } from './output.ts'

/** Where `get` writes: the named file, or `name` inside a named (or slash-ended) folder. */
async function targetFile(fileArg: string | undefined, name: string): Promise<string> {
  if (fileArg === undefined) return resolve(name)
  const info = await stat(fileArg).catch(() => undefined)
  if (info?.isDirectory()) return join(resolve(fileArg), name)
  if (fileArg.endsWith('/')) throw new CliError(`${fileArg}: no such folder`, EXIT.notFound)
  return resolve(fileArg)
}

const retry = <T>(call: () => Promise<T>) =>
  withRetry(call, { attempts: 6, baseMs: 250, maxMs: 8_000 })

export function registerTransferCommands(program: Command): void {
  program
    .command('put')
    .description('upload one file to the account (resumes an interrupted upload of the same file)')
    .argument('<file>', 'local file')
    .argument('[remote]', 'path in the account (default: the file name)')
    .option(
      '-d, --dir <path>',
      'a linked folder, for its credentials (default: the one holding the working directory)',
    )
    .option('--overwrite', 'replace the remote file if it exists with other content', false)
    .action(
      async (
        file: string,
        remoteArg: string | undefined,
        opts: { dir?: string; overwrite: boolean },
      ) => {
        const { state, stateDir, api } = await linked(opts.dir)
        const local = resolve(file)
        const info = await stat(local).catch(() => undefined)
        if (info?.isDirectory())
          throw new CliError(`${file} is a folder: put uploads one file`, EXIT.usage)
        if (!info?.isFile()) throw new CliError(`${file}: no such file`, EXIT.notFound)
        const remote = validatePath(remoteArg ?? basename(local))
        const existing = await currentVersion(api, remote)
        const refuse = () =>
          new CliError(
            `${remote} already exists (version ${existing?.version}): pass --overwrite to replace it`,
            EXIT.conflict,
          )
        // A different size is different content: refuse before hashing the whole file.
        if (existing && !opts.overwrite && existing.size !== info.size) throw refuse()
        const secret = secretOf(state)
        const fs = await NodeFileSystem.open({
          root: dirname(local),
          stateDir: join(stateDir, 'put'),
        })
        const localIndex = new LocalIndex(join(stateDir, 'put-index.db'))
        const index = syncIndexOf(localIndex, Date.now)
        const pipeline = new ChunkPipeline({ secret })
        const hashing = progress('hashing  ', info.size)
        let sending: ReturnType<typeof progress> | undefined
        const uploader = new Uploader({
          fs,
          api,
          index,
          pipeline,
          secret,
          retry,
          now: Date.now,
          progress: { hashed: (n) => hashing.add(n), sent: (n) => sending?.add(n) },
        })
        const name = basename(local)
        try {
          const checkpoint = index.getUpload(name)
          sending = progress('uploading', info.size)
          let result = checkpoint ? await uploader.resume(checkpoint) : undefined
          if (!result) {
            const encoded = await uploader.encode(name)
            hashing.stop()
            if (!encoded) throw new CliError(`${file} vanished while being read`)
            if (
              existing?.hash === encoded.manifest.hash &&
              existing.size === encoded.manifest.size
            ) {
              process.stdout.write(`${remote}: unchanged, version ${existing.version}\n`)
              return
            }
            if (existing && !opts.overwrite) throw refuse()
            result = await uploader.upload(
              name,
              encoded,
              existing?.version ?? null,
              undefined,
              remote,
            )
          }
          index.finishUpload(name)
          sending.stop()
          const c = uploader.counters
          process.stdout.write(
            `${remote}: version ${result.version}, ${bytes(c.bytesSent)} sent in ${c.chunksSent} chunk(s), ${c.chunksDeduplicated} already stored\n`,
          )
        } finally {
          hashing.stop()
          sending?.stop()
          await pipeline.close()
          localIndex.close()
        }
      },
    )

  program
    .command('get')
    .description('download one file from the account')
    .argument('<remote>', 'path in the account')
    .argument('[file]', 'where to write it: a file, or a folder to put it in (default: here)')
    .option(
      '-d, --dir <path>',
      'a linked folder, for its credentials (default: the one holding the working directory)',
    )
    .action(async (remoteArg: string, fileArg: string | undefined, opts: { dir?: string }) => {
      const { state, api } = await linked(opts.dir)
      const remote = validatePath(remoteArg)
      const meta = await api.byPath(remote)
      if (meta.deleted) throw new CliError(`${remote} was deleted`, EXIT.notFound)
      const target = await targetFile(fileArg, basename(remote))
      const partial = `${target}.cloudsync-part`
      const handle = await open(partial, 'w')
      const bar = progress('downloading', meta.size)
      let complete = false
      try {
        const manifest = { size: meta.size, hash: meta.hash, chunks: meta.chunks }
        const assembler = new FileAssembler(manifest, secretOf(state), {
          write: async (bytes, position) => {
            await handle.write(bytes, 0, bytes.length, position)
            bar.add(bytes.length)
          },
        })
        await new ChunkFetcher().fill(assembler, [cloudSource(api, meta.fileId, meta.version)])
        await handle.truncate(meta.size)
        await handle.sync()
        complete = true
      } finally {
        bar.stop()
        await handle.close()
        if (!complete) await rm(partial, { force: true })
      }
      // Only a complete, verified file takes the real name.
      await rename(partial, target)
      process.stdout.write(`${target}: ${bytes(meta.size)}, version ${meta.version}\n`)
    })

  program
    .command('ls')
    .description('list the account’s files')
    .argument('[prefix]', 'only paths starting with this')
    .option(
      '-d, --dir <path>',
      'a linked folder, for its credentials (default: the one holding the working directory)',
    )
    .action(async (prefix: string | undefined, opts: { dir?: string }) => {
      const { api } = await linked(opts.dir)
      let cursor: string | undefined
      do {
        const page = await api.list({ ...(prefix && { prefix }), ...(cursor && { cursor }) })
        for (const f of page.files) {
          if (!f.deleted)
            process.stdout.write(
              `${(isFolderMarker(f.path) ? 'folder' : bytes(f.size)).padStart(10)}  ${f.updatedAt}  ${shownPath(f.path)}\n`,
            )
        }
        cursor = page.next
      } while (cursor)
    })
}

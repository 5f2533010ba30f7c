/**
 * Measuring tools the lab's tests run inside its namespaces, each printing one JSON line:
 *   probe.ts tcp-sink PORT               receive one TCP stream; bytes, seconds from first to last byte, the sender's address
 *   probe.ts tcp-send HOST PORT SECONDS  send as fast as TCP allows for SECONDS
 *   probe.ts udp-sink PORT SECONDS       count datagrams arriving within SECONDS
 *   probe.ts udp-send HOST PORT COUNT    send COUNT numbered datagrams, paced
 *   probe.ts udp-echo PORT               echo datagrams back until killed
 *   probe.ts udp-ping HOST PORT COUNT    round trips of COUNT datagrams, in ms
 *   probe.ts file-recv PORT PATH         write one TCP stream to PATH and fsync; seconds from accept to fsync
 *   probe.ts file-send HOST PORT PATH    send a file over TCP
 */
import { createSocket } from 'node:dgram'
import { createReadStream, createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { pipeline } from 'node:stream/promises'

const [mode, ...rest] = process.argv.slice(2)
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

if (mode === 'tcp-sink') {
  const server = createServer((sock) => {
    const from = sock.remoteAddress?.replace(/^::ffff:/, '')
    let bytes = 0
    let first = 0
    let last = 0
    sock.on('data', (d: Buffer) => {
      last = performance.now()
      if (bytes === 0) first = last
      bytes += d.length
    })
    sock.on('close', () => {
      out({ bytes, seconds: (last - first) / 1000, from })
      server.close()
    })
  })
  server.listen(Number(rest[0]), () => out({ listening: true }))
} else if (mode === 'tcp-send') {
  const [host, port, seconds] = rest
  const sock = connect(Number(port), host!)
  sock.setTimeout(5_000, () => sock.destroy(new Error('ETIMEDOUT: no answer in 5 s')))
  sock.once('error', (err: NodeJS.ErrnoException) => {
    out({ error: err.code ?? err.message, sent })
    process.exit(1)
  })
  const block = Buffer.alloc(64 * 1024, 7)
  const end = performance.now() + Number(seconds) * 1000
  let sent = 0
  const pump = () => {
    while (performance.now() < end) {
      sent += block.length
      if (!sock.write(block)) return void sock.once('drain', pump)
    }
    sock.end(() => out({ sent }))
  }
  sock.once('connect', () => {
    sock.setTimeout(0)
    pump()
  })
} else if (mode === 'udp-sink') {
  const sock = createSocket('udp4')
  let count = 0
  sock.on('message', () => count++)
  sock.bind(Number(rest[0]), () => out({ listening: true }))
  setTimeout(() => {
    out({ received: count })
    sock.close()
  }, Number(rest[1]) * 1000)
} else if (mode === 'udp-send') {
  const [host, port, count] = rest
  const sock = createSocket('udp4')
  for (let i = 0; i < Number(count); i++) {
    sock.send(Buffer.from(`${i}`.padEnd(100, '.')), Number(port), host!)
    // Paced, so no queue anywhere overflows: what is lost is lost to the loss rule.
    if (i % 50 === 49) await sleep(5)
  }
  await sleep(100)
  out({ sent: Number(count) })
  sock.close()
} else if (mode === 'udp-echo') {
  const sock = createSocket('udp4')
  sock.on('message', (msg, from) => sock.send(msg, from.port, from.address))
  sock.bind(Number(rest[0]), () => out({ listening: true }))
} else if (mode === 'udp-ping') {
  const [host, port, count] = rest
  const sock = createSocket('udp4')
  const rtts: number[] = []
  for (let i = 0; i < Number(count); i++) {
    const start = performance.now()
    const back = new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 2_000)
      sock.once('message', () => {
        clearTimeout(t)
        r(true)
      })
    })
    sock.send(`${i}`, Number(port), host!)
    if (await back) rtts.push(performance.now() - start)
    await sleep(20)
  }
  out({ rtts })
  sock.close()
} else if (mode === 'file-recv') {
  const [port, path] = rest
  const server = createServer(async (sock) => {
    server.close()
    const start = performance.now()
    await pipeline(sock, createWriteStream(path!, { highWaterMark: 1 << 20 }))
    const fh = await open(path!, 'r+')
    await fh.sync()
    await fh.close()
    out({ seconds: (performance.now() - start) / 1000 })
  })
  server.listen(Number(port), () => out({ listening: true }))
} else if (mode === 'file-send') {
  const [host, port, path] = rest
  const sock = connect(Number(port), host!)
  await new Promise<void>((r, fail) => sock.once('connect', r).once('error', fail))
  await pipeline(createReadStream(path!, { highWaterMark: 1 << 20 }), sock)
  out({ sent: true })
} else {
  process.stderr.write(
    'usage: probe.ts tcp-sink|tcp-send|udp-sink|udp-send|udp-echo|udp-ping|file-recv|file-send ...\n',
  )
  process.exit(2)
}

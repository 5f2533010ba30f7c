/**
 * The lab's own pieces, checked from inside its namespaces: bandwidth limits hold, the loss
 * rule drops about its share, the delay line adds the configured round trip, the cloud-only
 * block rejects LAN peers, and nothing is left behind (also after the owner is killed).
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Lab } from '../lab.ts'
import { cleanLeftovers, listLabNamespaces } from '../netns.ts'
import { listen, median, run } from '../probes.ts'
import { EXIT_NOT_ROOT, isRoot, sh } from '../shell.ts'
import { NET } from '../spec.ts'

const HOLD = resolve(import.meta.dirname, 'hold-lab.ts')
let lab: Lab | undefined

afterEach(async () => {
  await lab?.close()
  lab = undefined
})

describe('network lab (needs root: namespaces, tc, nftables)', () => {
  it('runs as root', () => {
    expect(isRoot(), 'the lab tests create network namespaces: run them as root').toBe(true)
  })

  it('holds a 20 Mbit/s uplink below 21 Mbit/s and a 50 Mbit/s downlink below 52.5', async () => {
    lab = await Lab.create({ remotes: [{ name: 'r', link: { upMbit: 20, downMbit: 50 } }] })
    const up = await listen(lab, 'cloud', ['tcp-sink', '9001'])
    await run(lab, 'r', ['tcp-send', NET.cloud, '9001', '3'])
    const u = (await up.result()) as { bytes: number; seconds: number }
    const upMbit = (u.bytes * 8) / u.seconds / 1e6
    const down = await listen(lab, 'r', ['tcp-sink', '9002'])
    await run(lab, 'cloud', ['tcp-send', NET.wanSite(0), '9002', '3'])
    const d = (await down.result()) as { bytes: number; seconds: number }
    const downMbit = (d.bytes * 8) / d.seconds / 1e6
    expect(upMbit).toBeLessThan(21)
    expect(upMbit).toBeGreaterThan(12)
    expect(downMbit).toBeLessThan(52.5)
    expect(downMbit).toBeGreaterThan(30)
  })

  it('drops about the configured share of packets, per direction', async () => {
    lab = await Lab.create({ remotes: [{ name: 'r', link: { lossPct: 10 } }] })
    await run(lab, 'r', ['udp-send', NET.cloud, '9003', '3000'])
    // Counted by the kernel at the rule, so a busy receiver's own drops do not blur it.
    const { seen, dropped } = lab.rules(lab.ns('r')).counters('wan0', 'out')
    expect(seen).toBeGreaterThanOrEqual(3000)
    // 10% of ~3,000: 300 expected, standard deviation ~16; the bounds are over 4 of them.
    expect(dropped / seen).toBeGreaterThan(0.078)
    expect(dropped / seen).toBeLessThan(0.122)
    // The other direction has a rule of its own.
    await listen(lab, 'r', ['udp-echo', '9010'])
    await run(lab, 'cloud', ['udp-send', NET.wanSite(0), '9010', '1000'])
    const back = lab.rules(lab.ns('r')).counters('wan0', 'in')
    expect(back.seen).toBeGreaterThanOrEqual(1000)
    expect(back.dropped).toBeGreaterThan(40)
    expect(back.dropped).toBeLessThan(170)
    // Raised to 100%, nothing passes: the rule is the link's, not chance.
    lab.setLinkLoss('r', 100)
    const none = await listen(lab, 'cloud', ['udp-sink', '9004', '2'])
    await run(lab, 'r', ['udp-send', NET.cloud, '9004', '200'])
    expect(((await none.result()) as { received: number }).received).toBe(0)
  })

  it('adds the configured round trip on a delayed link, and none on a plain one', async () => {
    lab = await Lab.create({
      remotes: [
        { name: 'far', link: { rttMs: 60, upMbit: 20, downMbit: 20 } },
        { name: 'near', link: {} },
      ],
    })
    await listen(lab, 'cloud', ['udp-echo', '9005'])
    const far = (await run(lab, 'far', ['udp-ping', NET.cloud, '9005', '15'])) as { rtts: number[] }
    const near = (await run(lab, 'near', ['udp-ping', NET.cloud, '9005', '15'])) as {
      rtts: number[]
    }
    expect(far.rtts.length).toBe(15)
    expect(Math.min(...far.rtts)).toBeGreaterThanOrEqual(60)
    expect(median(far.rtts)).toBeLessThan(60 + 25)
    expect(median(near.rtts)).toBeLessThan(15)
  })

  it('blocks TCP between LAN peers in cloud-only mode, and not to the cloud', async () => {
    lab = await Lab.create({ lans: [{ name: 'home', hosts: ['a', 'b'], uplink: {} }] })
    await listen(lab, 'b', ['udp-echo', '9006'])
    const sinkB = await listen(lab, 'b', ['tcp-sink', '9007'])
    await run(lab, 'a', ['tcp-send', NET.lanHost(0, 1), '9007', '0.2'])
    expect(((await sinkB.result()) as { bytes: number }).bytes).toBeGreaterThan(0)
    lab.setSwarmBlocked(true)
    await expect(run(lab, 'a', ['tcp-send', NET.lanHost(0, 1), '9007', '0.2'])).rejects.toThrow(
      /ECONNREFUSED/,
    )
    const cloud = await listen(lab, 'cloud', ['tcp-sink', '9008'])
    await run(lab, 'a', ['tcp-send', NET.cloud, '9008', '0.2'])
    expect(((await cloud.result()) as { bytes: number }).bytes).toBeGreaterThan(0)
  })

  it('takes a roamed host back to its LAN: the cloud sees its LAN address again', async () => {
    lab = await Lab.create({
      lans: [{ name: 'home', hosts: ['a'], uplink: {} }],
      roaming: [{ host: 'a', link: {} }],
    })
    const from = async () => {
      const sink = await listen(lab!, 'cloud', ['tcp-sink', '9011'])
      await run(lab!, 'a', ['tcp-send', NET.cloud, '9011', '0.2'])
      return ((await sink.result()) as { from?: string }).from
    }
    await lab.leaveLan('a')
    await lab.roam('a')
    expect(await from()).toBe(NET.wanSite(1))
    await lab.rejoinLan('a')
    expect(await from()).toBe(NET.lanHost(0, 0))
  })

  it('leaves no namespace and no process behind', async () => {
    lab = await Lab.create({
      lans: [{ name: 'home', hosts: ['a'], uplink: { rttMs: 10 } }],
      remotes: [{ name: 'r', link: { rttMs: 10 } }],
    })
    const mine = [...lab.namespaces]
    expect(mine.length).toBe(4)
    // The two delay lines run inside the site namespaces.
    const pids = (await Promise.all(mine.map((ns) => sh('ip', ['netns', 'pids', ns]))))
      .join('\n')
      .split('\n')
      .filter(Boolean)
      .map(Number)
    expect(pids.length).toBe(2)
    await lab.close()
    const left = await listLabNamespaces()
    expect(left.filter((ns) => mine.includes(ns))).toEqual([])
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([])
  })

  it('cleans a lab whose process was killed before a new one starts', async () => {
    const holder = spawn(process.execPath, [HOLD], { stdio: ['ignore', 'pipe', 'inherit'] })
    const line = await new Promise<string>((r) =>
      holder.stdout.once('data', (d: Buffer) => r(d.toString())),
    )
    const { namespaces } = JSON.parse(line) as { namespaces: string[] }
    holder.kill('SIGKILL')
    await new Promise((r) => holder.once('exit', r))
    const left = (await listLabNamespaces()).filter((ns) => namespaces.includes(ns))
    const cleaned = await cleanLeftovers()
    // A lab started meanwhile by a test file running beside this one cleans leftovers too:
    // whatever was gone before this call, another lab's start removed.
    const goneEarlier = namespaces.filter((ns) => !left.includes(ns))
    expect([...cleaned.filter((ns) => namespaces.includes(ns)), ...goneEarlier].sort()).toEqual(
      [...namespaces].sort(),
    )
    expect((await listLabNamespaces()).filter((ns) => namespaces.includes(ns))).toEqual([])
  })

  it('refuses to run without root, with a clear message and a non-zero exit', async () => {
    const child = spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, HOLD],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let err = ''
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(EXIT_NOT_ROOT)
    expect(err).toMatch(/needs root/)
  })
})

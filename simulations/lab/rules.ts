/**
 * nftables rules of one namespace, rewritten whole on every change: random loss per device
 * and direction (`numgen random`), a cut (everything dropped), and rejected TCP between
 * hosts of a LAN (the cloud-only mode: the swarm cannot reach a peer).
 */
import { spawnSync } from 'node:child_process'
import { LabError } from './shell.ts'

const TABLE = 'cslab'

export class NsRules {
  /** dev -> loss in percent for packets leaving (out) and arriving (in) through it. */
  readonly #loss = new Map<string, { out: number; in: number }>()
  readonly #cut = new Set<string>()
  #rejectTcpFrom: string | undefined

  readonly ns: string

  constructor(ns: string) {
    this.ns = ns
  }

  setLoss(dev: string, out: number, inbound: number): void {
    for (const p of [out, inbound])
      if (!(p >= 0 && p <= 100)) throw new LabError(`loss must be 0-100 percent, got ${p}`)
    this.#loss.set(dev, { out, in: inbound })
    this.apply()
  }

  setCut(dev: string, cut: boolean): void {
    if (cut) this.#cut.add(dev)
    else this.#cut.delete(dev)
    this.apply()
  }

  /**
   * Refuses (TCP reset) every TCP connection opened to this host from `subnet`; undefined
   * lifts it. A reset from the peer, so the dialer fails at once rather than timing out.
   */
  rejectTcpFrom(subnet: string | undefined): void {
    this.#rejectTcpFrom = subnet
    this.apply()
  }

  /** The ruleset, as `nft -f` reads it. */
  text(): string {
    const out: string[] = []
    const inbound: string[] = []
    for (const dev of this.#cut) {
      out.push(`oifname "${dev}" drop`)
      inbound.push(`iifname "${dev}" drop`)
    }
    // Parts per 10,000, so a loss of 0.5% is expressible.
    // Each loss rule counts what it drops, after a rule counting every packet on the device:
    // the share the rule takes is then read from the kernel, whatever else drops packets.
    const lose = (dir: string, dev: string, pct: number) => [
      `${dir} "${dev}" counter`,
      pct >= 100
        ? `${dir} "${dev}" counter drop`
        : `${dir} "${dev}" numgen random mod 10000 < ${Math.round(pct * 100)} counter drop`,
    ]
    for (const [dev, p] of this.#loss) {
      if (p.out > 0) out.push(...lose('oifname', dev, p.out))
      if (p.in > 0) inbound.push(...lose('iifname', dev, p.in))
    }
    const refuse = this.#rejectTcpFrom
      ? [`ip saddr ${this.#rejectTcpFrom} meta l4proto tcp ct state new reject with tcp reset`]
      : []
    const chain = (name: string, hook: string, rules: string[]) =>
      `  chain ${name} {\n    type filter hook ${hook} priority 0; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`
    return (
      `table inet ${TABLE}\ndelete table inet ${TABLE}\ntable inet ${TABLE} {\n` +
      chain('egress', 'postrouting', out) +
      chain('ingress', 'prerouting', inbound) +
      chain('refuse', 'input', refuse) +
      '}\n'
    )
  }

  /** Packets seen on `dev` in one direction and those its loss rule dropped, from the kernel. */
  counters(dev: string, dir: 'out' | 'in'): { seen: number; dropped: number } {
    const r = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        this.ns,
        'nft',
        'list',
        'chain',
        'inet',
        TABLE,
        dir === 'out' ? 'egress' : 'ingress',
      ],
      { encoding: 'utf8' },
    )
    const match = `${dir === 'out' ? 'oifname' : 'iifname'} "${dev}"`
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.includes(match))
      .map((l) => ({
        drop: / drop$/.test(l.trim()),
        packets: Number(/counter packets (\d+)/.exec(l)?.[1] ?? 0),
      }))
    return {
      seen: rows.find((x) => !x.drop)?.packets ?? 0,
      dropped: rows.find((x) => x.drop)?.packets ?? 0,
    }
  }

  apply(): void {
    const r = spawnSync('ip', ['netns', 'exec', this.ns, 'nft', '-f', '-'], {
      input: this.text(),
      encoding: 'utf8',
      timeout: 10_000,
    })
    if (r.status !== 0) throw new LabError(`nft in ${this.ns}: ${r.stderr || r.error}`)
  }
}

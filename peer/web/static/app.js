// The device's web page: Preact with htm templates, no build step. Live state arrives over
// the daemon's event stream (/events); buttons and the limits form POST to /api/*.
import htm from 'htm'
import { h, render } from 'preact'
import { useEffect, useState } from 'preact/hooks'

const html = htm.bind(h)
const token = new URLSearchParams(location.search).get('token') ?? ''
const api = (path) => `${path}?token=${encodeURIComponent(token)}`
/** Samples kept for the transfer chart: two minutes at one a second. */
const HISTORY = 120

const UNITS = [
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
]
function bytes(n) {
  for (const [unit, size] of UNITS) if (n >= size) return `${+(n / size).toFixed(1)} ${unit}`
  return `${n} B`
}
const rate = (n) => (n === 0 ? 'unlimited' : `${bytes(n)}/s`)
const shortRate = (n) => {
  if (n === 0) return '0'
  for (const [unit, size] of UNITS) if (n >= size && n % size === 0) return `${n / size}${unit[0]}`
  return String(n)
}

async function post(path, body) {
  const res = await fetch(api(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const answer = await res.json()
  if (!res.ok) throw new Error(answer.error ?? `status ${res.status}`)
  return answer
}

function useDaemonState() {
  const [state, setState] = useState()
  const [history, setHistory] = useState([])
  const [live, setLive] = useState(false)
  useEffect(() => {
    const events = new EventSource(api('/events'))
    events.addEventListener('state', (e) => {
      const next = JSON.parse(e.data)
      setState(next)
      setHistory((h) => [...h, next.bytes].slice(-HISTORY))
      setLive(true)
    })
    events.onerror = () => setLive(false)
    return () => events.close()
  }, [])
  return { state, setState, history, live }
}

function App() {
  const { state, setState, history, live } = useDaemonState()
  if (!state) return html`<p class="muted">Connecting to the daemon…</p>`
  return html`
    <header>
      <h1>cloudsync <span class="muted">· ${state.device.name}</span></h1>
      <${Folder} state=${state} live=${live} setState=${setState} />
    </header>
    <div class="grid">
      <${Devices} devices=${state.devices} connected=${state.connected} />
      <${Transfers} history=${history} />
      <${Limits} limits=${state.limits} setState=${setState} />
      <${Problems} problems=${state.problems} count=${state.problemCount} />
      <${Recent} recent=${state.recent} />
    </div>
  `
}

function Folder({ state, live, setState }) {
  const [error, setError] = useState()
  const toggle = () =>
    post(state.paused ? '/api/resume' : '/api/pause').then(setState, (e) => setError(e.message))
  return html`
    <div class="folder">
      <span class=${`badge ${state.folder.state}`} data-testid="folder-state">${state.folder.label}</span>
      <button data-testid="pause" onClick=${toggle}>${state.paused ? 'Resume' : 'Pause'}</button>
      ${!live && html`<span class="warn">daemon not answering</span>`}
      ${error && html`<span class="warn">${error}</span>`}
    </div>
  `
}

function Devices({ devices, connected }) {
  return html`
    <section>
      <h2>Devices</h2>
      <p class="muted">coordinator: ${connected ? 'connected' : 'not connected'}</p>
      ${devices.length === 0 && html`<p class="muted">No other device is linked.</p>`}
      <table data-testid="devices">
        ${devices.map(
          (d) => html`<tr>
            <td>${d.name}</td>
            <td class=${d.online ? 'ok' : 'muted'}>${d.online ? 'online' : 'offline'}</td>
            <td class=${d.lan ? 'ok' : 'muted'}>${d.lan ? 'on the LAN' : 'not on the LAN'}</td>
          </tr>`,
        )}
      </table>
    </section>
  `
}

/** Bytes per second between samples, from LAN peers and from the cloud, as an SVG chart. */
function Transfers({ history }) {
  const last = history.at(-1) ?? { fromPeers: 0, fromCloud: 0, fromSelf: 0, sent: 0 }
  const rates = history.slice(1).map((s, i) => {
    const prev = history[i]
    const seconds = Math.max(0.001, (s.at - prev.at) / 1000)
    return {
      lan: (s.fromPeers - prev.fromPeers) / seconds,
      cloud: (s.fromCloud - prev.fromCloud) / seconds,
      sent: (s.sent - prev.sent) / seconds,
    }
  })
  const top = Math.max(1, ...rates.flatMap((r) => [r.lan, r.cloud, r.sent]))
  const W = 360
  const H = 100
  const line = (key) =>
    rates
      .map((r, i) => `${(i / Math.max(30, rates.length - 1)) * W},${H - (r[key] / top) * (H - 4)}`)
      .join(' ')
  const now = rates.at(-1) ?? { lan: 0, cloud: 0, sent: 0 }
  return html`
    <section>
      <h2>Transfers</h2>
      <svg viewBox="0 0 ${W} ${H}" class="chart" role="img" aria-label="bytes per second">
        <polyline class="lan" points=${line('lan')} />
        <polyline class="cloud" points=${line('cloud')} />
        <polyline class="sent" points=${line('sent')} />
      </svg>
      <table data-testid="transfers">
        <tr><th></th><th>now</th><th>since start</th></tr>
        <tr><td><i class="key lan"></i>from LAN peers</td><td>${bytes(now.lan)}/s</td><td>${bytes(last.fromPeers)}</td></tr>
        <tr><td><i class="key cloud"></i>from the cloud</td><td>${bytes(now.cloud)}/s</td><td>${bytes(last.fromCloud)}</td></tr>
        <tr><td><i class="key sent"></i>uploaded</td><td>${bytes(now.sent)}/s</td><td>${bytes(last.sent)}</td></tr>
      </table>
      <p class="muted">scale: ${bytes(top)}/s</p>
    </section>
  `
}

const LIMIT_LABELS = {
  cloudUp: 'cloud upload',
  cloudDown: 'cloud download',
  lanUp: 'LAN upload',
  lanDown: 'LAN download',
}

function Limits({ limits, setState }) {
  const [draft, setDraft] = useState({})
  const [error, setError] = useState()
  const apply = (e) => {
    e.preventDefault()
    post('/api/limits', draft).then(
      (s) => {
        setState(s)
        setDraft({})
        setError(undefined)
      },
      (err) => setError(err.message),
    )
  }
  return html`
    <section>
      <h2>Rate limits</h2>
      <form onSubmit=${apply} data-testid="limits">
        ${Object.entries(LIMIT_LABELS).map(
          ([key, label]) => html`<label>
            <span>${label}</span>
            <input name=${key} placeholder="5M, 500k, 0 = unlimited"
              value=${draft[key] ?? shortRate(limits[key])}
              onInput=${(e) => setDraft({ ...draft, [key]: e.currentTarget.value })} />
            <span class="muted">${rate(limits[key])}</span>
          </label>`,
        )}
        <button type="submit">Apply</button>
        ${error && html`<span class="warn">${error}</span>`}
      </form>
    </section>
  `
}

const KIND_LABELS = {
  unsyncable: 'not synced',
  failing: 'upload failing',
  skipped: 'remote change skipped',
}

function Problems({ problems, count }) {
  return html`
    <section>
      <h2>Conflicts and problems</h2>
      ${count === 0 && html`<p class="muted">Every path syncs.</p>`}
      <ul data-testid="problems">
        ${problems.map(
          (p) =>
            html`<li><code>${p.path}</code> <span class="warn">${KIND_LABELS[p.kind] ?? p.kind}</span>: ${p.reason}${p.code ? ` [${p.code}]` : ''}</li>`,
        )}
      </ul>
      ${count > problems.length && html`<p class="muted">and ${count - problems.length} more</p>`}
    </section>
  `
}

function Recent({ recent }) {
  return html`
    <section class="wide">
      <h2>Recent changes</h2>
      ${recent.length === 0 && html`<p class="muted">None yet.</p>`}
      <table data-testid="recent">
        ${recent.map(
          (c) => html`<tr class=${c.kind === 'conflict copy' ? 'conflict' : ''}>
            <td class="muted">${new Date(c.at).toLocaleTimeString()}</td>
            <td>${c.kind}</td>
            <td><code>${c.fromPath ? `${c.fromPath} → ` : ''}${c.path}</code></td>
            <td class="muted">${c.by}</td>
          </tr>`,
        )}
      </table>
    </section>
  `
}

render(html`<${App} />`, document.getElementById('app'))

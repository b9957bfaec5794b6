/**
 * The kiosk page's client of the local peripheral bridge (外设桥) — docs/bridge.md.
 *
 *   import { bridge } from '@/lib/bridge'
 *   bridge.start()                                   // connects, and reconnects when dropped
 *   const card = await bridge.request('id_reader', 'read', {}, { onProgress: (s) => … })
 *   bridge.state.status                              // 'connected' | 'connecting' | 'disconnected'
 *
 * The bridge listens on ws://127.0.0.1:17800/ unless the kiosk URL says `?bridge=ws://…`
 * or local storage `cloudwindow.kiosk.bridgeUrl` does. A request made while the bridge is
 * not connected fails at once with `bridge-not-connected`; requests in flight when the
 * connection drops fail with `bridge-disconnected` (never hang). Every failure is a
 * `BridgeError` with the bridge's stable code (`out-of-paper`, `no-card`, …).
 */
import { reactive } from 'vue'
import { backoffDelay } from './realtime'

export type BridgeDevice = 'bridge' | 'id_reader' | 'signature_pad' | 'receipt_printer' | 'a4_printer' | 'simulator'
export type BridgeStatus = 'idle' | 'connecting' | 'connected' | 'disconnected'
export type HealthStatus = 'ok' | 'out_of_paper' | 'error' | 'absent'

export interface DeviceHealth {
  device: Exclude<BridgeDevice, 'bridge' | 'simulator'>
  present: boolean
  status: HealthStatus
  detail: string
}

export interface BridgeInfo {
  vendor: string
  model: string
  version: string
  simulated?: boolean
}

export const DEFAULT_BRIDGE_URL = 'ws://127.0.0.1:17800/'
const STORAGE_KEY = 'cloudwindow.kiosk.bridgeUrl'
/** Extra time the page waits past the bridge's own timeout before giving up itself. */
const GRACE_MS = 5_000
const DEFAULT_TIMEOUT_MS: Record<string, number> = {
  'id_reader.read': 30_000,
  'signature_pad.capture': 120_000,
  'receipt_printer.print': 60_000,
  'a4_printer.print': 60_000,
}

const LOCAL: Record<string, [string, string]> = {
  'bridge-not-connected': ['外设服务未连接', 'The device bridge is not connected'],
  'bridge-disconnected': ['外设服务连接中断', 'The device bridge disconnected'],
  timeout: ['设备操作超时', 'The device did not answer in time'],
}

export class BridgeError extends Error {
  readonly code: string
  readonly messageZh: string
  readonly messageEn: string
  readonly details: Record<string, unknown>

  constructor(code: string, messageZh?: string, messageEn?: string, details: Record<string, unknown> = {}) {
    const [zh, en] = LOCAL[code] ?? [code, code]
    super(messageEn ?? en)
    this.name = 'BridgeError'
    this.code = code
    this.messageZh = messageZh ?? zh
    this.messageEn = messageEn ?? en
    this.details = details
  }
}

/** Where the bridge listens: `?bridge=` on the page, local storage, or the default. */
export function bridgeUrl(search: string = globalThis.location?.search ?? '', stored: string | null = readStored()): string {
  const fromQuery = new URLSearchParams(search).get('bridge')
  for (const candidate of [fromQuery, stored]) {
    if (candidate && /^wss?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/.*)?$/.test(candidate)) return candidate
  }
  return DEFAULT_BRIDGE_URL
}

function readStored(): string | null {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) ?? null
  } catch {
    return null
  }
}

interface Pending {
  resolve: (data: Record<string, unknown>) => void
  reject: (err: BridgeError) => void
  onProgress?: (stage: string) => void
  timer: ReturnType<typeof setTimeout>
}

export interface RequestOptions {
  timeoutMs?: number
  onProgress?: (stage: string) => void
}

export interface BridgeSocket {
  readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onclose: ((ev: { code: number }) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export type BridgeSocketFactory = (url: string) => BridgeSocket

type HealthListener = (devices: DeviceHealth[]) => void

export class BridgeClient {
  readonly state = reactive({
    status: 'idle' as BridgeStatus,
    devices: [] as DeviceHealth[],
    info: null as BridgeInfo | null,
    protocol: '',
    /** Set when another page took the bridge over (newest client wins). */
    superseded: false,
  })
  private socket: BridgeSocket | null = null
  private pending = new Map<string, Pending>()
  private attempt = 0
  private seq = 0
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private running = false
  private healthListeners = new Set<HealthListener>()

  constructor(
    readonly url: string = bridgeUrl(),
    private readonly factory: BridgeSocketFactory = (u) => new WebSocket(u) as unknown as BridgeSocket,
  ) {}

  /** Connect, and keep reconnecting (with backoff) until `stop()`. Idempotent. */
  start(): void {
    if (this.running) return
    this.running = true
    this.connect()
  }

  stop(): void {
    this.running = false
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
    this.socket?.close(1000, 'stop')
    this.socket = null
    this.failAll('bridge-disconnected')
    this.state.status = 'idle'
  }

  /** Called with the whole device list on connect and on every health change. */
  onHealth(fn: HealthListener): () => void {
    this.healthListeners.add(fn)
    return () => this.healthListeners.delete(fn)
  }

  get connected(): boolean {
    return this.state.status === 'connected'
  }

  /** Run one command; resolves with its `data`, rejects with a `BridgeError`. */
  request(device: BridgeDevice, command: string, params: object = {}, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    const socket = this.socket
    if (!socket || this.state.status !== 'connected') {
      return Promise.reject(new BridgeError('bridge-not-connected'))
    }
    this.seq += 1
    const id = `k${Date.now().toString(36)}-${this.seq}`
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS[`${device}.${command}`] ?? 10_000
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new BridgeError('timeout'))
      }, timeoutMs + GRACE_MS)
      this.pending.set(id, { resolve, reject, onProgress: options.onProgress, timer })
      socket.send(JSON.stringify({ type: 'request', id, device, command, params, timeout_ms: timeoutMs }))
    })
  }

  /** Wipe what the bridge holds of the last citizen (docs/bridge.md §bridge.wipe). */
  async wipe(): Promise<boolean> {
    try {
      await this.request('bridge', 'wipe')
      return true
    } catch {
      return false
    }
  }

  private connect(): void {
    if (!this.running) return
    this.state.status = 'connecting'
    let socket: BridgeSocket
    try {
      socket = this.factory(this.url)
    } catch {
      this.scheduleRetry()
      return
    }
    this.socket = socket
    socket.onmessage = (ev) => this.receive(ev.data)
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      this.failAll('bridge-disconnected')
      this.state.status = 'disconnected'
      this.emitHealth()
      this.scheduleRetry()
    }
    socket.onerror = () => {
      /* onclose follows */
    }
  }

  private scheduleRetry(): void {
    if (!this.running) return
    // Another page holds the bridge now: try again slowly, not in a tug of war.
    const delay = this.state.superseded ? 30_000 : backoffDelay(this.attempt++, { maxMs: 5_000 })
    this.retryTimer = setTimeout(() => this.connect(), delay)
  }

  private failAll(code: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new BridgeError(code))
      this.pending.delete(id)
    }
  }

  private emitHealth(): void {
    const devices = this.connected ? [...this.state.devices] : []
    for (const fn of this.healthListeners) fn(devices)
  }

  private receive(raw: unknown): void {
    let msg: Record<string, any>
    try {
      msg = JSON.parse(String(raw))
    } catch {
      return
    }
    switch (msg.type) {
      case 'hello':
        this.attempt = 0
        this.state.superseded = false
        this.state.info = msg.bridge ?? null
        this.state.protocol = String(msg.protocol ?? '')
        this.state.devices = Array.isArray(msg.devices) ? msg.devices : []
        this.state.status = 'connected'
        this.emitHealth()
        return
      case 'health': {
        const { type: _t, ...health } = msg
        const i = this.state.devices.findIndex((d) => d.device === health.device)
        if (i >= 0) this.state.devices.splice(i, 1, health as DeviceHealth)
        else this.state.devices.push(health as DeviceHealth)
        this.emitHealth()
        return
      }
      case 'closing':
        this.state.superseded = msg.error?.code === 'superseded'
        return
      case 'progress':
        this.pending.get(msg.id)?.onProgress?.(String(msg.stage))
        return
      case 'result': {
        const p = this.pending.get(msg.id)
        if (!p) return
        this.pending.delete(msg.id)
        clearTimeout(p.timer)
        if (msg.ok) p.resolve((msg.data ?? {}) as Record<string, unknown>)
        else {
          const e = msg.error ?? {}
          p.reject(new BridgeError(String(e.code ?? 'device-error'), e.message_zh, e.message_en, e.details ?? {}))
        }
        return
      }
      default:
        return
    }
  }
}

/** The kiosk page's one bridge client. */
export const bridge = new BridgeClient()
export default bridge

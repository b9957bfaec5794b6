/**
 * The realtime client: one WebSocket to /ws (docs/protocol.md) shared by a page.
 *
 *   const rt = new RealtimeClient<QueueProtocol>()
 *   rt.on('ticket.updated', ({ ticket }) => …)
 *   rt.connect(token)
 *   const status = await rt.request('agent.get', {})
 *
 * - `hello` with the token and the highest durable event id seen, so a reconnect
 *   replays what was missed (`resync` when the server cannot: re-read your state);
 * - automatic reconnect with exponential backoff (0.5 s … 10 s, with jitter);
 * - `ping` every `heartbeat_seconds`; a socket that stays silent is dropped and redialled;
 * - `request()` matches the reply by `ref`; a server `error` rejects with a
 *   RealtimeError carrying the bilingual message (an ApiError, so `errorText` shows it);
 * - `state` is a Vue ref for the UI: idle / connecting / online / reconnecting / unauthorized.
 *
 * The pure parts (backoffDelay, EventTracker, PendingRequests) are exported for tests; the
 * socket is created by an injectable factory so tests can use a fake one.
 */
import { shallowRef } from 'vue'
import { ApiError, type ErrorBody, type LocalizedText } from './errors'

export type ConnectionState = 'idle' | 'connecting' | 'online' | 'reconnecting' | 'unauthorized'

/** Server → client frame. `id` is set on durable (replayable) events only. */
export interface Envelope<D = unknown> {
  id?: number | null
  type: string
  data: D
  at?: string
  ref?: string | number | null
}

export interface Welcome {
  principal: string
  kind: string
  name: string
  roles: string[]
  node: string
  latest_event_id: number
  replayed: number
  heartbeat_seconds: number
}

/** What a page's protocol looks like: server events by type, and request/reply pairs. */
export interface Protocol {
  events: object
  requests: object
}

/** Events every client gets from the transport itself. */
export interface BuiltinEvents {
  /** After every (re)connect, once the server accepted the hello. */
  welcome: Welcome
  /** The server could not replay what was missed: re-read the state. */
  resync: { reason: string }
  /** An error that answers no pending request (e.g. a failed hello). */
  error: ErrorBody
  /** The token was refused (`not-authenticated`, close 4401): the client stops reconnecting. */
  unauthorized: ErrorBody
}

type EventsOf<P extends Protocol> = P['events'] & BuiltinEvents
type RequestsOf<P extends Protocol> = P['requests']
type ReqData<R> = R extends { data: infer D } ? D : Record<string, unknown>
type ReqReply<R> = R extends { reply: infer T } ? T : unknown

/** Any event / request name, untyped data: for pages that do not declare a protocol. */
export interface LooseProtocol extends Protocol {
  events: Record<string, unknown>
  requests: Record<string, { data: Record<string, unknown>; reply: unknown }>
}

/** A failure reported over the socket (server error, timeout, lost connection). */
export class RealtimeError extends ApiError {
  readonly requestType: string | undefined

  constructor(body: ErrorBody, requestType?: string) {
    super(0, body)
    this.name = 'RealtimeError'
    this.requestType = requestType
  }
}

const LOCAL_MESSAGES: Record<string, LocalizedText> = {
  'connection-lost': {
    'zh-CN': '与服务器的连接已断开，请稍后重试',
    en: 'The connection to the server was lost; please try again',
  },
  'request-timeout': {
    'zh-CN': '服务器未及时响应，请稍后重试',
    en: 'The server did not answer in time; please try again',
  },
  'not-connected': {
    'zh-CN': '尚未连接服务器',
    en: 'Not connected to the server',
  },
}

export function localError(errorId: keyof typeof LOCAL_MESSAGES | string, requestType?: string): RealtimeError {
  return new RealtimeError(
    { error_id: errorId, message: LOCAL_MESSAGES[errorId] ?? { 'zh-CN': errorId, en: errorId }, details: {} },
    requestType,
  )
}

// ---------------------------------------------------------------------------------------
// Pure parts

export interface BackoffOptions {
  /** First delay (ms). */
  baseMs?: number
  /** Ceiling (ms). */
  maxMs?: number
  factor?: number
  /** Share of each delay taken off at random, so a fleet of kiosks does not redial in step. */
  jitter?: number
}

/**
 * Delay before reconnect attempt `attempt` (0 = the first retry after a drop):
 * base·factorⁿ capped at max, minus up to `jitter` of it at random.
 * Defaults: 0.5 s, 1 s, 2 s, 4 s, 8 s, 10 s, 10 s, …
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { baseMs = 500, maxMs = 10_000, factor = 2, jitter = 0.25 } = options
  const n = Math.max(0, Math.floor(attempt))
  // Cap the exponent so huge attempt counts do not overflow to Infinity·0.
  const raw = Math.min(maxMs, baseMs * factor ** Math.min(n, 30))
  const r = Math.min(1, Math.max(0, random()))
  return Math.round(raw * (1 - jitter * r))
}

/**
 * The highest durable event id seen, and duplicate suppression: events with an id at or
 * below it were delivered already (replay and live delivery may overlap).
 */
export class EventTracker {
  lastId: number | null = null

  /** Whether to deliver the event: ephemeral ones (no id) always, durable ones once. */
  accept(id: number | null | undefined): boolean {
    if (id === null || id === undefined) return true
    if (this.lastId !== null && id <= this.lastId) return false
    this.lastId = id
    return true
  }

  /**
   * A fresh connection starts from the server's latest id, so that a later reconnect
   * replays what happened in between. A resuming one keeps its own id: the replayed
   * events (≤ latest) are still to come.
   */
  welcome(latestEventId: number): void {
    if (this.lastId === null) this.lastId = latestEventId
  }

  /** After `resync` nothing older will be replayed: continue from the server's latest. */
  resync(latestEventId: number): void {
    if (this.lastId === null || latestEventId > this.lastId) this.lastId = latestEventId
  }

  reset(): void {
    this.lastId = null
  }
}

interface Pending {
  type: string
  resolve: (data: unknown) => void
  reject: (err: RealtimeError) => void
  timer?: ReturnType<typeof setTimeout>
}

/** Requests awaiting their reply, keyed by the `ref` they were sent with. */
export class PendingRequests {
  private seq = 0
  private readonly map = new Map<string, Pending>()

  nextRef(): string {
    this.seq += 1
    return `r${this.seq}`
  }

  add(ref: string, pending: Pending): void {
    this.map.set(ref, pending)
  }

  has(ref: string): boolean {
    return this.map.has(ref)
  }

  get size(): number {
    return this.map.size
  }

  /** Forget a request without settling it (e.g. it timed out). */
  drop(ref: string): void {
    const p = this.map.get(ref)
    if (p?.timer) clearTimeout(p.timer)
    this.map.delete(ref)
  }

  /**
   * Settle the request this frame answers: resolve with `data`, or reject when it is an
   * `error`. Returns false when the frame answers nothing pending (an event, or a reply
   * that came after its request timed out).
   */
  settle(envelope: Envelope): boolean {
    if (envelope.ref === null || envelope.ref === undefined) return false
    const ref = String(envelope.ref)
    const p = this.map.get(ref)
    if (!p) return false
    this.drop(ref)
    if (envelope.type === 'error') p.reject(new RealtimeError(toErrorBody(envelope.data), p.type))
    else p.resolve(envelope.data)
    return true
  }

  /** Reject everything still waiting (the socket closed: their outcome is unknown). */
  rejectAll(make: (type: string) => RealtimeError): void {
    const all = [...this.map.values()]
    for (const p of all) if (p.timer) clearTimeout(p.timer)
    this.map.clear()
    for (const p of all) p.reject(make(p.type))
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The server's error data, tolerating a malformed one. */
export function toErrorBody(data: unknown): ErrorBody {
  if (isRecord(data) && typeof data.error_id === 'string') {
    return {
      error_id: data.error_id,
      message: isRecord(data.message) ? (data.message as LocalizedText) : {},
      details: isRecord(data.details) ? data.details : {},
    }
  }
  return { error_id: 'unknown-error', message: {}, details: {} }
}

/** Parse one text frame; null when it is not a JSON object with a string `type`. */
export function parseEnvelope(raw: unknown): Envelope | null {
  if (typeof raw !== 'string') return null
  try {
    const v: unknown = JSON.parse(raw)
    if (!isRecord(v) || typeof v.type !== 'string') return null
    return {
      id: typeof v.id === 'number' ? v.id : null,
      type: v.type,
      data: v.data ?? {},
      at: typeof v.at === 'string' ? v.at : undefined,
      ref: typeof v.ref === 'string' || typeof v.ref === 'number' ? v.ref : null,
    }
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------
// The client

/** The part of the browser's WebSocket the client uses (a fake one in tests). */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason?: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export type SocketFactory = (url: string) => SocketLike

export interface RealtimeOptions {
  /** Default: ws(s)://<this host>/ws */
  url?: string
  socketFactory?: SocketFactory
  backoff?: BackoffOptions
  /** How long a request waits for its reply (including while reconnecting). */
  requestTimeoutMs?: number
  random?: () => number
}

const OPEN = 1
/** Pongs missed before a silent socket counts as dead. */
const SILENCE_FACTOR = 2.5

export function defaultSocketUrl(): string {
  const loc = globalThis.location
  if (!loc) return 'ws://127.0.0.1/ws'
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`
}

type Handler = (data: never, envelope: Envelope<never>) => void

export class RealtimeClient<P extends Protocol = LooseProtocol> {
  /** For the UI: connection indicator, "正在重新连接…" banner. */
  readonly state = shallowRef<ConnectionState>('idle')
  /** The last `welcome` (who we are, heartbeat interval). */
  readonly welcome = shallowRef<Welcome | null>(null)
  /** Failed attempts since the last welcome. */
  readonly attempt = shallowRef(0)
  /** Close code of the last dropped socket (4000 idle, 4008 too slow, 4401 refused…), for diagnostics. */
  lastCloseCode: number | null = null

  private readonly url: string
  private readonly factory: SocketFactory
  private readonly backoff: BackoffOptions
  private readonly requestTimeoutMs: number
  private readonly random: () => number
  private readonly tracker = new EventTracker()
  private readonly pending = new PendingRequests()
  private readonly handlers = new Map<string, Set<Handler>>()
  /** Requests made while not online, sent once the welcome arrives. */
  private readonly waiting = new Map<string, { send: () => void; reject: (err: RealtimeError) => void }>()
  private token: string | null = null
  private socket: SocketLike | null = null
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  private lastHeard = 0
  private refused = false

  constructor(options: RealtimeOptions = {}) {
    this.url = options.url ?? defaultSocketUrl()
    this.factory = options.socketFactory ?? ((url) => new WebSocket(url) as unknown as SocketLike)
    this.backoff = options.backoff ?? {}
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000
    this.random = options.random ?? Math.random
  }

  /** Back on the network: do not sit out the rest of a long backoff. */
  private readonly onBrowserOnline = () => this.reconnectNow()

  /** The highest durable event id delivered so far. */
  get lastEventId(): number | null {
    return this.tracker.lastId
  }

  /** Open the socket with this token (a new token starts a fresh event history). */
  connect(token: string): void {
    if (token !== this.token) this.tracker.reset()
    this.token = token
    this.refused = false
    this.attempt.value = 0
    this.teardown()
    globalThis.addEventListener?.('online', this.onBrowserOnline)
    this.open()
  }

  /** Close for good: no reconnect; pending requests fail. */
  disconnect(): void {
    this.token = null
    globalThis.removeEventListener?.('online', this.onBrowserOnline)
    this.teardown()
    this.failWaiting('not-connected')
    this.state.value = 'idle'
    this.welcome.value = null
  }

  /** Skip the remaining backoff (e.g. the browser reports the network is back). */
  reconnectNow(): void {
    if (this.token && this.state.value === 'reconnecting' && this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer)
      this.reconnectTimer = undefined
      this.open()
    }
  }

  /** Subscribe to a server event (or a built-in one); returns the unsubscribe function. */
  on<K extends keyof EventsOf<P> & string>(
    type: K,
    handler: (data: EventsOf<P>[K], envelope: Envelope<EventsOf<P>[K]>) => void,
  ): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(handler as Handler)
    return () => set.delete(handler as Handler)
  }

  /**
   * Send a request and wait for its reply (matched by ref). Rejects with a RealtimeError:
   * the server's error, `request-timeout`, `connection-lost` (the socket closed before the
   * reply: the outcome is unknown, re-read the state) or `not-connected`.
   */
  request<K extends keyof RequestsOf<P> & string>(
    type: K,
    data: ReqData<RequestsOf<P>[K]>,
    options: { timeoutMs?: number } = {},
  ): Promise<ReqReply<RequestsOf<P>[K]>> {
    return new Promise((resolve, reject) => {
      if (!this.token || this.state.value === 'unauthorized') {
        reject(localError('not-connected', type))
        return
      }
      const ref = this.pending.nextRef()
      const timer = setTimeout(() => {
        this.waiting.delete(ref)
        this.pending.drop(ref)
        reject(localError('request-timeout', type))
      }, options.timeoutMs ?? this.requestTimeoutMs)
      const send = () => {
        this.pending.add(ref, { type, resolve: resolve as (d: unknown) => void, reject, timer })
        this.sendRaw({ type, data: data ?? {}, ref })
      }
      if (this.state.value === 'online') send()
      else
        this.waiting.set(ref, {
          send,
          reject: (err) => {
            clearTimeout(timer)
            reject(err)
          },
        })
    })
  }

  // -------------------------------------------------------------------------------------

  private open(): void {
    if (!this.token) return
    this.reconnectTimer = undefined
    this.state.value = this.attempt.value === 0 && this.welcome.value === null ? 'connecting' : 'reconnecting'
    let socket: SocketLike
    try {
      socket = this.factory(this.url)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.socket = socket
    const token = this.token
    socket.onopen = () => {
      if (this.socket !== socket) return
      this.lastHeard = Date.now()
      socket.send(JSON.stringify({ type: 'hello', data: { token, last_event_id: this.tracker.lastId } }))
    }
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.receive(ev.data)
    }
    socket.onclose = (ev) => {
      if (this.socket === socket) this.closed(ev.code)
    }
    socket.onerror = () => {
      // a close event follows
    }
  }

  private receive(raw: unknown): void {
    this.lastHeard = Date.now()
    const env = parseEnvelope(raw)
    if (!env) return
    if (this.pending.settle(env)) return
    switch (env.type) {
      case 'welcome':
        this.welcomed(env.data as Welcome)
        return
      case 'pong':
        return
      case 'resync':
        this.tracker.resync(this.welcome.value?.latest_event_id ?? 0)
        break
      case 'error': {
        const body = toErrorBody(env.data)
        // Only a refused token stops the client; anything else (e.g. hello-required after a
        // stalled hello) is retried like any other drop.
        if (this.state.value !== 'online' && body.error_id === 'not-authenticated') {
          this.refused = true
          this.emit('unauthorized', body, env)
        }
        break
      }
    }
    if (!this.tracker.accept(env.id)) return
    this.emit(env.type, env.data, env)
  }

  private welcomed(welcome: Welcome): void {
    this.welcome.value = welcome
    this.tracker.welcome(welcome.latest_event_id)
    this.attempt.value = 0
    this.state.value = 'online'
    this.startHeartbeat(welcome.heartbeat_seconds)
    const queued = [...this.waiting.values()]
    this.waiting.clear()
    for (const w of queued) w.send()
    this.emit('welcome', welcome, { id: null, type: 'welcome', data: welcome })
  }

  private emit(type: string, data: unknown, env: Envelope): void {
    const set = this.handlers.get(type)
    if (!set) return
    for (const h of [...set]) {
      try {
        ;(h as (d: unknown, e: Envelope) => void)(data, env)
      } catch (err) {
        console.error(`realtime handler for ${type} failed`, err)
      }
    }
  }

  private sendRaw(message: { type: string; data?: unknown; ref?: string }): void {
    const s = this.socket
    if (s && s.readyState === OPEN) s.send(JSON.stringify(message))
  }

  private startHeartbeat(seconds: number): void {
    this.stopHeartbeat()
    const periodMs = Math.max(1, seconds || 20) * 1000
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > periodMs * SILENCE_FACTOR) {
        // No pong for two beats: the connection is dead even if the browser has not noticed.
        const s = this.socket
        this.closed(4000)
        try {
          s?.close(4000, 'silent')
        } catch {
          // already closed
        }
        return
      }
      this.sendRaw({ type: 'ping' })
    }, periodMs)
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = undefined
  }

  /** The current socket closed (or was declared dead). */
  private closed(code: number): void {
    this.lastCloseCode = code
    this.socket = null
    this.stopHeartbeat()
    this.pending.rejectAll((type) => localError('connection-lost', type))
    if (!this.token) {
      this.state.value = 'idle'
      return
    }
    if (this.refused) {
      this.state.value = 'unauthorized'
      this.failWaiting('not-connected')
      return
    }
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt.value, this.backoff, this.random)
    this.attempt.value += 1
    this.state.value = 'reconnecting'
    this.reconnectTimer = setTimeout(() => this.open(), delay)
  }

  /** Drop the socket and timers without touching the token. */
  private teardown(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.stopHeartbeat()
    const s = this.socket
    this.socket = null
    if (s) {
      s.onopen = s.onmessage = s.onclose = s.onerror = null
      try {
        s.close(1000, 'bye')
      } catch {
        // ignore
      }
    }
    this.pending.rejectAll((type) => localError('connection-lost', type))
  }

  private failWaiting(errorId: string): void {
    const queued = [...this.waiting.values()]
    this.waiting.clear()
    for (const w of queued) w.reject(localError(errorId))
  }
}

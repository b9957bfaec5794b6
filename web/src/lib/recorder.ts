/**
 * Session recorder (全程录音录像): records a call in the agent's browser and uploads it.
 *
 * Framework-free and import-free (an end-to-end test injects this file into a bare page).
 *
 * What it does
 * - Composites both videos onto a canvas (`layout: 'side-by-side'` or `'inset'`: remote
 *   large, local in a corner), stamps the wall-clock time and a label, and captures it
 *   with `canvas.captureStream(fps)`.
 * - Mixes both audio tracks with WebAudio into one `MediaStreamAudioDestinationNode`.
 * - Records with `MediaRecorder` (WebM; VP8/VP9 + Opus, whichever the browser supports)
 *   with a `timeslice` (default 1000 ms, at most 2000 ms).
 * - Uploads each chunk in order (`PUT /api/recordings/{id}/chunks/{seq}`), one at a time,
 *   retrying with exponential backoff and jitter. After an error it asks the server what
 *   it holds (`GET …/upload-status`) and continues from there. Chunks stay in memory and,
 *   when IndexedDB is available, on disk until the server acknowledges them.
 * - `stop()` → the final chunk, drain the queue, `POST …/finish`.
 * - After a page reload, `recoverPendingRecordings()` uploads what IndexedDB still holds
 *   and finishes those recordings (a new recording is started for the rest of the call).
 *
 * Usage
 *
 *     const rec = new SessionRecorder({
 *       ticketId, mediaSessionId, local, remote,
 *       transport: httpTransport({ token: () => currentToken() }),
 *       label: `A023 · 王丽`,
 *     })
 *     rec.onStatus((s) => { indicator.value = s })   // state, pendingChunks, behindMs, …
 *     await rec.start()   // when the remote stream arrives
 *     await rec.stop()    // on hang-up
 *
 * Server side: src/cloudwindow/recording/ (hash chain, assembly, flags, playback).
 */

// ---------------------------------------------------------------------------------------
// Transport

export interface ChunkAck {
  recording_id: number
  seq: number
  duplicate: boolean
  contiguous: number
  chain_head: string
}

export interface UploadStatus {
  recording_id: number
  state: string
  contiguous: number
  received: number
  max_seq: number
  missing: number[]
  bytes_total: number
  chain_head: string
}

export interface StartBody {
  ticket_id: number
  media_session_id?: string | null
  mime_type: string
  client_key: string
}

export interface RecordingTransport {
  start(body: StartBody): Promise<{ id: number }>
  putChunk(recordingId: number, seq: number, data: Blob): Promise<ChunkAck>
  status(recordingId: number): Promise<UploadStatus>
  finish(recordingId: number, body: { chunk_count: number; duration_ms: number | null }): Promise<unknown>
}

/** An HTTP answer that was not 2xx; `errorId` is the server's stable error id. */
export class RecorderHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorId: string,
    message: string,
  ) {
    super(message)
    this.name = 'RecorderHttpError'
  }
}

export interface HttpTransportOptions {
  /** The bearer token (the agent's session), read for every request. */
  token: () => string | null
  baseUrl?: string
  fetch?: typeof fetch
  /** Abort a request after this long (ms); a stalled upload must not stall the queue. */
  timeoutMs?: number
}

export function httpTransport(options: HttpTransportOptions): RecordingTransport {
  const base = options.baseUrl ?? ''
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const timeoutMs = options.timeoutMs ?? 20_000

  async function call<T>(method: string, path: string, body?: BodyInit, type?: string): Promise<T> {
    const headers: Record<string, string> = {}
    const token = options.token()
    if (token) headers.Authorization = `Bearer ${token}`
    if (type) headers['Content-Type'] = type
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), timeoutMs)
    try {
      const response = await doFetch(`${base}${path}`, { method, headers, body, signal: controller.signal })
      const text = await response.text()
      const data = text ? (JSON.parse(text) as Record<string, unknown>) : {}
      if (!response.ok) {
        const message = (data.message as Record<string, string> | undefined)?.en ?? response.statusText
        throw new RecorderHttpError(response.status, String(data.error_id ?? 'http-error'), message)
      }
      return data as T
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    start: (body) => call('POST', '/api/recordings', JSON.stringify(body), 'application/json'),
    putChunk: (id, seq, data) =>
      call('PUT', `/api/recordings/${id}/chunks/${seq}`, data, 'application/octet-stream'),
    status: (id) => call('GET', `/api/recordings/${id}/upload-status`),
    finish: (id, body) => call('POST', `/api/recordings/${id}/finish`, JSON.stringify(body), 'application/json'),
  }
}

// ---------------------------------------------------------------------------------------
// Pure helpers (unit-tested)

export const MIME_CANDIDATES = [
  'video/webm;codecs=vp8,opus',
  'video/webm;codecs=vp9,opus',
  'video/webm;codecs=vp8',
  'video/webm',
] as const

/** The first WebM type the browser can record, or null. */
export function pickMimeType(isSupported: (type: string) => boolean): string | null {
  return MIME_CANDIDATES.find((t) => isSupported(t)) ?? null
}

/** Delay before retry number `attempt` (1, 2, …): 0.5 s doubling to 15 s, ±25 % jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (0.75 + random() * 0.5))
}

/**
 * Errors that retrying cannot fix: the server refused this chunk for what it is (a
 * conflict, not WebM, too large, the recording closed). Network errors, timeouts, 5xx,
 * 408, 429 and 401 (the agent may sign in again) are worth retrying.
 */
export function isPermanent(error: unknown): boolean {
  if (!(error instanceof RecorderHttpError)) return false
  return error.status >= 400 && error.status < 500 && ![401, 408, 429].includes(error.status)
}

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

/** `src` scaled to fit inside `box`, centred (letterboxed, never cropped). */
export function fitRect(srcW: number, srcH: number, box: Rect): Rect {
  if (srcW <= 0 || srcH <= 0) return { ...box }
  const scale = Math.min(box.w / srcW, box.h / srcH)
  const w = Math.round(srcW * scale)
  const h = Math.round(srcH * scale)
  return { x: box.x + Math.round((box.w - w) / 2), y: box.y + Math.round((box.h - h) / 2), w, h }
}

export type Layout = 'side-by-side' | 'inset'

/** Where the remote and local videos go on a canvas of `width` × `height`. */
export function layoutBoxes(layout: Layout, width: number, height: number): { remote: Rect; local: Rect } {
  if (layout === 'inset') {
    const w = Math.round(width / 4)
    const h = Math.round(height / 4)
    return {
      remote: { x: 0, y: 0, w: width, h: height },
      local: { x: width - w - 16, y: height - h - 16, w, h },
    }
  }
  const half = Math.floor(width / 2)
  return { remote: { x: 0, y: 0, w: half, h: height }, local: { x: half, y: 0, w: width - half, h: height } }
}

/** Which queued chunks the server still needs, given its upload status. */
export function stillNeeded(seqs: number[], status: Pick<UploadStatus, 'contiguous' | 'max_seq' | 'missing'>): number[] {
  const missing = new Set(status.missing)
  return seqs.filter((s) => s >= status.contiguous && (s > status.max_seq || missing.has(s)))
}

// ---------------------------------------------------------------------------------------
// Where unacknowledged chunks wait

export interface PendingRecording {
  recordingId: number
  ticketId: number
  /** Chunks 0 … nextSeq-1 were produced. */
  nextSeq: number
  startedAt: number
  /** True once the recorder stopped: recovery may finish it. */
  stopped: boolean
}

export interface ChunkStore {
  putChunk(recordingId: number, seq: number, data: Blob): Promise<void>
  deleteChunk(recordingId: number, seq: number): Promise<void>
  chunks(recordingId: number): Promise<{ seq: number; data: Blob }[]>
  saveMeta(meta: PendingRecording): Promise<void>
  deleteMeta(recordingId: number): Promise<void>
  allMeta(): Promise<PendingRecording[]>
}

/** Keeps nothing across reloads (tests; browsers without IndexedDB). */
export class MemoryChunkStore implements ChunkStore {
  private readonly data = new Map<number, Map<number, Blob>>()
  private readonly meta = new Map<number, PendingRecording>()
  async putChunk(id: number, seq: number, blob: Blob): Promise<void> {
    if (!this.data.has(id)) this.data.set(id, new Map())
    this.data.get(id)!.set(seq, blob)
  }
  async deleteChunk(id: number, seq: number): Promise<void> {
    this.data.get(id)?.delete(seq)
  }
  async chunks(id: number): Promise<{ seq: number; data: Blob }[]> {
    return [...(this.data.get(id) ?? new Map<number, Blob>()).entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([seq, data]) => ({ seq, data }))
  }
  async saveMeta(meta: PendingRecording): Promise<void> {
    this.meta.set(meta.recordingId, { ...meta })
  }
  async deleteMeta(id: number): Promise<void> {
    this.meta.delete(id)
    this.data.delete(id)
  }
  async allMeta(): Promise<PendingRecording[]> {
    return [...this.meta.values()]
  }
}

/** IndexedDB ("cloudwindow-recorder"): chunks survive a reload or a crashed tab. */
export class IdbChunkStore implements ChunkStore {
  private db: Promise<IDBDatabase> | null = null

  static available(): boolean {
    return typeof indexedDB !== 'undefined'
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open('cloudwindow-recorder', 1)
      req.onupgradeneeded = () => {
        req.result.createObjectStore('chunks', { keyPath: ['recordingId', 'seq'] })
        req.result.createObjectStore('recordings', { keyPath: 'recordingId' })
      }
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    return this.db
  }

  private async run<T>(store: string, mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.open()
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode)
      const req = fn(tx.objectStore(store))
      tx.oncomplete = () => resolve(req.result)
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
  }

  async putChunk(recordingId: number, seq: number, data: Blob): Promise<void> {
    await this.run('chunks', 'readwrite', (s) => s.put({ recordingId, seq, data }))
  }
  async deleteChunk(recordingId: number, seq: number): Promise<void> {
    await this.run('chunks', 'readwrite', (s) => s.delete([recordingId, seq]))
  }
  async chunks(recordingId: number): Promise<{ seq: number; data: Blob }[]> {
    const range = IDBKeyRange.bound([recordingId, 0], [recordingId, Number.MAX_SAFE_INTEGER])
    const rows = await this.run('chunks', 'readonly', (s) => s.getAll(range) as IDBRequest<{ seq: number; data: Blob }[]>)
    return rows.map((r) => ({ seq: r.seq, data: r.data }))
  }
  async saveMeta(meta: PendingRecording): Promise<void> {
    await this.run('recordings', 'readwrite', (s) => s.put({ ...meta }))
  }
  async deleteMeta(recordingId: number): Promise<void> {
    const range = IDBKeyRange.bound([recordingId, 0], [recordingId, Number.MAX_SAFE_INTEGER])
    await this.run('chunks', 'readwrite', (s) => s.delete(range))
    await this.run('recordings', 'readwrite', (s) => s.delete(recordingId))
  }
  async allMeta(): Promise<PendingRecording[]> {
    return this.run('recordings', 'readonly', (s) => s.getAll() as IDBRequest<PendingRecording[]>)
  }
}

function defaultStore(): ChunkStore {
  return IdbChunkStore.available() ? new IdbChunkStore() : new MemoryChunkStore()
}

// ---------------------------------------------------------------------------------------
// The upload queue (no media APIs: unit-tested with a fake transport)

export interface UploaderStatus {
  /** Chunks produced but not yet acknowledged by the server. */
  pendingChunks: number
  pendingBytes: number
  /** Age (ms) of the oldest unacknowledged chunk: how far uploads lag behind. */
  behindMs: number
  /** Highest chunk index the server acknowledged (−1: none yet). */
  ackedSeq: number
  /** Failed attempts in a row (0 when uploads flow). */
  failures: number
  /** Chunks the server refused for good (they become gaps; the recording is flagged). */
  rejected: number[]
  lastError: string
}

interface Queued {
  seq: number
  data: Blob
  at: number
}

export interface UploaderOptions {
  transport: RecordingTransport
  recordingId: number
  store: ChunkStore
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  onChange?: (s: UploaderStatus) => void
}

export class ChunkUploader {
  private readonly queue: Queued[] = []
  private readonly opts: Required<Omit<UploaderOptions, 'onChange'>> & Pick<UploaderOptions, 'onChange'>
  private pumping: Promise<void> | null = null
  private failures = 0
  private ackedSeq = -1
  private rejected: number[] = []
  private lastError = ''
  private closed = false

  constructor(options: UploaderOptions) {
    this.opts = {
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      ...options,
    }
  }

  status(): UploaderStatus {
    const now = this.opts.now()
    return {
      pendingChunks: this.queue.length,
      pendingBytes: this.queue.reduce((n, c) => n + c.data.size, 0),
      behindMs: this.queue.length ? now - this.queue[0].at : 0,
      ackedSeq: this.ackedSeq,
      failures: this.failures,
      rejected: [...this.rejected],
      lastError: this.lastError,
    }
  }

  /** Queue chunk `seq` (kept in the store until acknowledged) and make sure it goes. */
  async add(seq: number, data: Blob, at?: number): Promise<void> {
    this.queue.push({ seq, data, at: at ?? this.opts.now() })
    this.queue.sort((a, b) => a.seq - b.seq)
    this.changed()
    try {
      await this.opts.store.putChunk(this.opts.recordingId, seq, data)
    } catch {
      // No room on disk (quota) or private mode: memory still holds it.
    }
    this.kick()
  }

  /** Start uploading if not already; resolves when the queue is empty (or closed). */
  kick(): Promise<void> {
    this.pumping ??= this.pump().finally(() => {
      this.pumping = null
    })
    return this.pumping
  }

  /** Wait until every queued chunk is acknowledged or refused, at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = this.opts.now() + timeoutMs
    while (this.queue.length && this.opts.now() < deadline && !this.closed) {
      await Promise.race([this.kick(), this.opts.sleep(Math.min(500, Math.max(1, deadline - this.opts.now())))])
    }
    return this.queue.length === 0
  }

  close(): void {
    this.closed = true
  }

  private changed(): void {
    this.opts.onChange?.(this.status())
  }

  private async pump(): Promise<void> {
    const { transport, recordingId, store } = this.opts
    while (this.queue.length && !this.closed) {
      const chunk = this.queue[0]
      try {
        await transport.putChunk(recordingId, chunk.seq, chunk.data)
        this.done(chunk.seq)
        this.failures = 0
        this.lastError = ''
        await store.deleteChunk(recordingId, chunk.seq).catch(() => undefined)
        this.changed()
        continue
      } catch (error) {
        this.lastError = error instanceof RecorderHttpError ? error.errorId : String(error)
        if (error instanceof RecorderHttpError && error.errorId === 'recording-not-found') {
          this.closed = true // nothing to upload to; keep the chunks for recovery
          this.changed()
          return
        }
        if (isPermanent(error)) {
          this.rejected.push(chunk.seq)
          this.done(chunk.seq)
          await store.deleteChunk(recordingId, chunk.seq).catch(() => undefined)
          this.changed()
          continue
        }
        this.failures += 1
        this.changed()
      }
      await this.opts.sleep(backoffMs(this.failures, this.opts.random))
      await this.resync()
    }
  }

  /** Ask the server what it holds; drop what it already has (an answer lost on the way). */
  private async resync(): Promise<void> {
    try {
      const status = await this.opts.transport.status(this.opts.recordingId)
      const needed = new Set(stillNeeded(this.queue.map((c) => c.seq), status))
      for (const c of [...this.queue]) {
        if (!needed.has(c.seq)) {
          this.done(c.seq)
          await this.opts.store.deleteChunk(this.opts.recordingId, c.seq).catch(() => undefined)
        }
      }
      this.changed()
    } catch {
      // Still offline: the next attempt will tell.
    }
  }

  private done(seq: number): void {
    const i = this.queue.findIndex((c) => c.seq === seq)
    if (i >= 0) this.queue.splice(i, 1)
    this.ackedSeq = Math.max(this.ackedSeq, seq)
  }
}

// ---------------------------------------------------------------------------------------
// The recorder

export type RecorderState = 'idle' | 'starting' | 'recording' | 'stopping' | 'finished' | 'pending' | 'failed'

export interface RecorderStatus extends UploaderStatus {
  state: RecorderState
  recordingId: number | null
  mimeType: string
  chunks: number
  /** Uploads are falling behind (more than `lagWarnMs` or 5 chunks queued). */
  lagging: boolean
  error: string
}

export interface RecorderOptions {
  ticketId: number
  mediaSessionId?: string | number | null
  local: MediaStream
  remote: MediaStream
  transport: RecordingTransport
  store?: ChunkStore
  layout?: Layout
  width?: number
  height?: number
  fps?: number
  /** MediaRecorder timeslice (ms); capped at 2000 so a crash loses at most ~2 s. */
  timesliceMs?: number
  videoBitsPerSecond?: number
  audioBitsPerSecond?: number
  /** Stamped on every frame with the time (e.g. ticket number and agent name). */
  label?: string
  lagWarnMs?: number
}

const EMPTY_UPLOADER: UploaderStatus = {
  pendingChunks: 0,
  pendingBytes: 0,
  behindMs: 0,
  ackedSeq: -1,
  failures: 0,
  rejected: [],
  lastError: '',
}

function randomKey(): string {
  const bytes = new Uint8Array(12)
  crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export class SessionRecorder {
  readonly options: RecorderOptions
  private readonly store: ChunkStore
  private readonly listeners = new Set<(s: RecorderStatus) => void>()
  private state: RecorderState = 'idle'
  private error = ''
  private recordingId: number | null = null
  private mimeType = ''
  private nextSeq = 0
  private startedAt = 0
  private uploader: ChunkUploader | null = null
  private recorder: MediaRecorder | null = null
  private audio: AudioContext | null = null
  private videos: HTMLVideoElement[] = []
  private drawTimer: ReturnType<typeof setInterval> | undefined
  private statusTimer: ReturnType<typeof setInterval> | undefined
  private canvasStream: MediaStream | null = null
  private pendingWrites: Promise<void>[] = []

  constructor(options: RecorderOptions) {
    this.options = options
    this.store = options.store ?? defaultStore()
  }

  onStatus(listener: (s: RecorderStatus) => void): () => void {
    this.listeners.add(listener)
    listener(this.status())
    return () => this.listeners.delete(listener)
  }

  status(): RecorderStatus {
    const up = this.uploader?.status() ?? EMPTY_UPLOADER
    const lagWarn = this.options.lagWarnMs ?? 10_000
    return {
      ...up,
      state: this.state,
      recordingId: this.recordingId,
      mimeType: this.mimeType,
      chunks: this.nextSeq,
      lagging: up.behindMs > lagWarn || up.pendingChunks > 5,
      error: this.error,
    }
  }

  private emit(): void {
    const s = this.status()
    for (const l of [...this.listeners]) l(s)
  }

  /** Create the recording on the server and start recording. */
  async start(): Promise<void> {
    if (this.state !== 'idle') return
    this.state = 'starting'
    this.emit()
    try {
      const mime = pickMimeType((t) => MediaRecorder.isTypeSupported(t))
      if (!mime) throw new Error('recorder-unsupported')
      this.mimeType = mime
      const created = await this.withRetry(() =>
        this.options.transport.start({
          ticket_id: this.options.ticketId,
          media_session_id: this.options.mediaSessionId == null ? null : String(this.options.mediaSessionId),
          mime_type: mime,
          client_key: randomKey(),
        }),
      )
      this.recordingId = created.id
      this.uploader = new ChunkUploader({
        transport: this.options.transport,
        recordingId: created.id,
        store: this.store,
        onChange: () => this.emit(),
      })
      const stream = await this.compose()
      this.startedAt = Date.now()
      await this.saveMeta(false)
      const recorder = new MediaRecorder(stream, {
        mimeType: mime,
        videoBitsPerSecond: this.options.videoBitsPerSecond ?? 600_000,
        audioBitsPerSecond: this.options.audioBitsPerSecond ?? 48_000,
      })
      recorder.ondataavailable = (event) => this.onData(event.data)
      recorder.onerror = () => this.fail('recorder-error')
      recorder.start(Math.min(2000, Math.max(250, this.options.timesliceMs ?? 1000)))
      this.recorder = recorder
      this.state = 'recording'
      this.statusTimer = setInterval(() => this.emit(), 1000)
      this.emit()
    } catch (error) {
      this.teardown()
      this.fail(error instanceof RecorderHttpError ? error.errorId : error instanceof Error ? error.message : String(error))
      throw error
    }
  }

  /**
   * Stop: the final chunk, then wait (up to `drainMs`) for every chunk to be
   * acknowledged and finish the recording. If the network is down that long the chunks
   * stay in IndexedDB (state `pending`) for `recoverPendingRecordings`, and the server
   * flags the recording incomplete until they arrive.
   */
  async stop(drainMs = 30_000): Promise<RecorderStatus> {
    if (this.state !== 'recording' && this.state !== 'starting') return this.status()
    this.state = 'stopping'
    this.emit()
    const recorder = this.recorder
    if (recorder && recorder.state !== 'inactive') {
      await new Promise<void>((resolve) => {
        recorder.addEventListener('stop', () => resolve(), { once: true })
        recorder.stop()
      })
    }
    this.teardown()
    await Promise.all(this.pendingWrites)
    await this.saveMeta(true)
    const uploader = this.uploader
    if (!uploader || this.recordingId === null) return this.status()
    const drained = await uploader.drain(drainMs)
    if (!drained) {
      this.state = 'pending'
      this.emit()
      return this.status()
    }
    try {
      await this.withRetry(() =>
        this.options.transport.finish(this.recordingId!, {
          chunk_count: this.nextSeq,
          duration_ms: Date.now() - this.startedAt,
        }),
      )
      await this.store.deleteMeta(this.recordingId).catch(() => undefined)
      this.state = 'finished'
    } catch (error) {
      this.error = error instanceof RecorderHttpError ? error.errorId : String(error)
      this.state = 'pending'
    }
    clearInterval(this.statusTimer)
    this.emit()
    return this.status()
  }

  private onData(blob: Blob): void {
    if (!blob.size || !this.uploader) return
    const seq = this.nextSeq++
    this.pendingWrites.push(this.uploader.add(seq, blob))
    if (seq % 10 === 0) void this.saveMeta(false)
    this.emit()
  }

  private async saveMeta(stopped: boolean): Promise<void> {
    if (this.recordingId === null) return
    await this.store
      .saveMeta({
        recordingId: this.recordingId,
        ticketId: this.options.ticketId,
        nextSeq: this.nextSeq,
        startedAt: this.startedAt,
        stopped,
      })
      .catch(() => undefined)
  }

  private fail(error: string): void {
    this.error = error
    this.state = 'failed'
    this.emit()
  }

  private async withRetry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn()
      } catch (error) {
        if (attempt >= attempts || isPermanent(error)) throw error
        await new Promise((r) => setTimeout(r, backoffMs(attempt)))
      }
    }
  }

  /** The composite stream: canvas video + mixed audio. */
  private async compose(): Promise<MediaStream> {
    const { local, remote } = this.options
    const width = this.options.width ?? 1280
    const height = this.options.height ?? 480
    const fps = this.options.fps ?? 15
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) throw new Error('canvas-unavailable')

    // Hidden, muted players: the canvas draws from them. Attaching the remote stream to
    // a media element also keeps its audio flowing into WebAudio (a Chromium quirk).
    const [remoteVideo, localVideo] = [remote, local].map((stream) => {
      const v = document.createElement('video')
      v.muted = true
      v.playsInline = true
      v.srcObject = stream
      return v
    })
    this.videos = [remoteVideo, localVideo]
    await Promise.all(this.videos.map((v) => v.play().catch(() => undefined)))

    const boxes = layoutBoxes(this.options.layout ?? 'side-by-side', width, height)
    const label = this.options.label ?? ''
    const draw = () => {
      ctx.fillStyle = '#111'
      ctx.fillRect(0, 0, width, height)
      for (const [video, box] of [
        [remoteVideo, boxes.remote],
        [localVideo, boxes.local],
      ] as const) {
        if (video.readyState >= 2 && video.videoWidth > 0) {
          const r = fitRect(video.videoWidth, video.videoHeight, box)
          ctx.drawImage(video, r.x, r.y, r.w, r.h)
        }
      }
      const stamp = `${new Date().toLocaleString('zh-CN', { hour12: false })}  ${label}  ● REC`
      ctx.font = '16px sans-serif'
      ctx.fillStyle = 'rgba(0,0,0,0.55)'
      ctx.fillRect(8, height - 30, ctx.measureText(stamp).width + 16, 24)
      ctx.fillStyle = '#fff'
      ctx.fillText(stamp, 16, height - 12)
    }
    draw()
    // A timer, not requestAnimationFrame: rAF stops in a background tab. A tab playing
    // call audio is not throttled by Chromium, so the timer keeps its rate.
    this.drawTimer = setInterval(draw, Math.round(1000 / fps))
    this.canvasStream = canvas.captureStream(fps)

    const audio = new AudioContext()
    this.audio = audio
    await audio.resume().catch(() => undefined)
    const mix = audio.createMediaStreamDestination()
    const connected = new Set<string>()
    const connectAudio = (stream: MediaStream) => {
      for (const track of stream.getAudioTracks()) {
        if (connected.has(track.id)) continue
        connected.add(track.id)
        audio.createMediaStreamSource(new MediaStream([track])).connect(mix)
      }
    }
    for (const stream of [remote, local]) {
      connectAudio(stream)
      // A track added later (renegotiation, microphone switched on) joins the mix.
      stream.addEventListener('addtrack', () => connectAudio(stream))
    }
    return new MediaStream([...this.canvasStream.getVideoTracks(), ...mix.stream.getAudioTracks()])
  }

  private teardown(): void {
    clearInterval(this.drawTimer)
    this.canvasStream?.getTracks().forEach((t) => t.stop())
    this.canvasStream = null
    for (const v of this.videos) v.srcObject = null
    this.videos = []
    void this.audio?.close().catch(() => undefined)
    this.audio = null
  }
}

/**
 * After a reload or a crash: upload what IndexedDB still holds for recordings that were
 * interrupted, then finish them (the server assembles them; any gap keeps the flag).
 * Returns the ids finished. Safe to call at every page load; errors leave the rest for
 * next time.
 */
export async function recoverPendingRecordings(
  transport: RecordingTransport,
  store: ChunkStore = defaultStore(),
): Promise<number[]> {
  const finished: number[] = []
  for (const meta of await store.allMeta()) {
    try {
      const status = await transport.status(meta.recordingId)
      const held = await store.chunks(meta.recordingId)
      const needed = new Set(stillNeeded(held.map((c) => c.seq), status))
      for (const chunk of held) {
        if (needed.has(chunk.seq)) await transport.putChunk(meta.recordingId, chunk.seq, chunk.data)
      }
      const count = Math.max(meta.nextSeq, status.max_seq + 1, ...held.map((c) => c.seq + 1))
      await transport.finish(meta.recordingId, { chunk_count: count, duration_ms: null })
      await store.deleteMeta(meta.recordingId)
      finished.push(meta.recordingId)
    } catch (error) {
      if (error instanceof RecorderHttpError && (error.status === 404 || error.status === 410)) {
        await store.deleteMeta(meta.recordingId) // gone on the server: nothing to complete
      }
    }
  }
  return finished
}

import { describe, expect, it } from 'vitest'
import {
  backoffMs,
  ChunkUploader,
  fitRect,
  isPermanent,
  layoutBoxes,
  MemoryChunkStore,
  pickMimeType,
  recoverPendingRecordings,
  RecorderHttpError,
  stillNeeded,
  type ChunkAck,
  type RecordingTransport,
  type UploadStatus,
} from '../recorder'

/** A server double: stores chunks by index like the real one, can fail on demand. */
class FakeServer implements RecordingTransport {
  chunks = new Map<number, string>()
  puts: number[] = []
  finished: { chunk_count: number }[] = []
  /** Upcoming putChunk outcomes: 'net' (network error), 'lost' (stored, answer lost), or an HTTP error. */
  failures: ('net' | 'lost' | RecorderHttpError)[] = []

  async start(): Promise<{ id: number }> {
    return { id: 7 }
  }
  async putChunk(_id: number, seq: number, data: Blob): Promise<ChunkAck> {
    this.puts.push(seq)
    const failure = this.failures.shift()
    if (failure === 'net') throw new TypeError('Failed to fetch')
    if (failure instanceof RecorderHttpError) throw failure
    this.chunks.set(seq, await data.text())
    if (failure === 'lost') throw new TypeError('connection reset')
    return { recording_id: 7, seq, duplicate: false, contiguous: this.contiguous(), chain_head: '' }
  }
  async status(): Promise<UploadStatus> {
    const max = Math.max(-1, ...this.chunks.keys())
    const missing = []
    for (let i = this.contiguous(); i < max; i++) if (!this.chunks.has(i)) missing.push(i)
    return {
      recording_id: 7, state: 'recording', contiguous: this.contiguous(), received: this.chunks.size,
      max_seq: max, missing, bytes_total: 0, chain_head: '',
    }
  }
  async finish(_id: number, body: { chunk_count: number }): Promise<unknown> {
    this.finished.push(body)
    return {}
  }
  contiguous(): number {
    let n = 0
    while (this.chunks.has(n)) n++
    return n
  }
}

const noSleep = async () => undefined

describe('recorder helpers', () => {
  it('picks the first WebM type the browser supports', () => {
    expect(pickMimeType((t) => t === 'video/webm')).toBe('video/webm')
    expect(pickMimeType(() => true)).toBe('video/webm;codecs=vp8,opus')
    expect(pickMimeType(() => false)).toBeNull()
  })

  it('backs off exponentially up to 15 s with jitter', () => {
    expect(backoffMs(1, () => 0.5)).toBe(500)
    expect(backoffMs(3, () => 0.5)).toBe(2000)
    expect(backoffMs(20, () => 0.5)).toBe(15_000)
    expect(backoffMs(1, () => 0)).toBe(375)
    expect(backoffMs(1, () => 1)).toBe(625)
  })

  it('retries network errors, 5xx, 401, 408 and 429 but not refusals', () => {
    expect(isPermanent(new TypeError('offline'))).toBe(false)
    expect(isPermanent(new RecorderHttpError(503, 'x', ''))).toBe(false)
    expect(isPermanent(new RecorderHttpError(429, 'x', ''))).toBe(false)
    expect(isPermanent(new RecorderHttpError(401, 'not-authenticated', ''))).toBe(false)
    expect(isPermanent(new RecorderHttpError(409, 'recording-chunk-conflict', ''))).toBe(true)
    expect(isPermanent(new RecorderHttpError(413, 'recording-chunk-too-large', ''))).toBe(true)
  })

  it('letterboxes a video into its box and lays out both videos', () => {
    expect(fitRect(640, 480, { x: 0, y: 0, w: 640, h: 240 })).toEqual({ x: 160, y: 0, w: 320, h: 240 })
    const side = layoutBoxes('side-by-side', 1280, 480)
    expect(side.remote).toEqual({ x: 0, y: 0, w: 640, h: 480 })
    expect(side.local).toEqual({ x: 640, y: 0, w: 640, h: 480 })
    const inset = layoutBoxes('inset', 1280, 720)
    expect(inset.remote.w).toBe(1280)
    expect(inset.local.x + inset.local.w).toBeLessThan(1280)
  })

  it('knows which queued chunks the server still needs', () => {
    expect(stillNeeded([2, 3, 4, 5, 6], { contiguous: 3, max_seq: 5, missing: [4] })).toEqual([4, 6])
  })
})

describe('ChunkUploader', () => {
  const blob = (s: string) => new Blob([s])

  it('uploads in order and empties its store', async () => {
    const server = new FakeServer()
    const store = new MemoryChunkStore()
    const up = new ChunkUploader({ transport: server, recordingId: 7, store, sleep: noSleep })
    await up.add(0, blob('a'))
    await up.add(1, blob('b'))
    await up.add(2, blob('c'))
    expect(await up.drain(1000)).toBe(true)
    expect(server.puts).toEqual([0, 1, 2])
    expect([...server.chunks.values()]).toEqual(['a', 'b', 'c'])
    expect(await store.chunks(7)).toEqual([])
    expect(up.status().ackedSeq).toBe(2)
  })

  it('retries after network errors and skips what the server already got', async () => {
    const server = new FakeServer()
    server.failures = ['net', 'lost', 'net']
    const up = new ChunkUploader({ transport: server, recordingId: 7, store: new MemoryChunkStore(), sleep: noSleep })
    await up.add(0, blob('a'))
    await up.add(1, blob('b'))
    expect(await up.drain(1000)).toBe(true)
    expect(server.contiguous()).toBe(2)
    // 0: net error, 0: stored but the answer was lost → status says the server has it,
    // so 0 is not sent again; 1: net error, then 1 goes through.
    expect(server.puts).toEqual([0, 0, 1, 1])
  })

  it('reports lag while offline and drops chunks the server refuses for good', async () => {
    let now = 0
    const server = new FakeServer()
    server.failures = [new RecorderHttpError(409, 'recording-chunk-conflict', 'conflict'), 'net', 'net']
    const seen: number[] = []
    const up = new ChunkUploader({
      transport: server, recordingId: 7, store: new MemoryChunkStore(), sleep: async (ms) => { now += ms },
      now: () => now, random: () => 0.5, onChange: (s) => seen.push(s.failures),
    })
    await up.add(0, blob('a'), 0)
    await up.add(1, blob('b'), 0)
    expect(await up.drain(60_000)).toBe(true)
    expect(up.status().rejected).toEqual([0])
    expect(Math.max(...seen)).toBe(2)
    expect(now).toBeGreaterThanOrEqual(1500) // 500 + 1000 ms of backoff
    expect(up.status().lastError).toBe('')
  })

  it('recovers chunks left in the store after a reload and finishes', async () => {
    const server = new FakeServer()
    server.chunks.set(0, 'a')
    const store = new MemoryChunkStore()
    await store.saveMeta({ recordingId: 7, ticketId: 1, nextSeq: 3, startedAt: 0, stopped: false })
    await store.putChunk(7, 0, blob('a'))
    await store.putChunk(7, 1, blob('b'))
    await store.putChunk(7, 2, blob('c'))
    expect(await recoverPendingRecordings(server, store)).toEqual([7])
    expect(server.puts).toEqual([1, 2])
    expect(server.finished).toEqual([{ chunk_count: 3, duration_ms: null }])
    expect(await store.allMeta()).toEqual([])
  })
})

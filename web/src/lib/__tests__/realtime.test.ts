import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  backoffDelay,
  EventTracker,
  parseEnvelope,
  PendingRequests,
  RealtimeClient,
  RealtimeError,
  type SocketLike,
} from '../realtime'
import { errorSummary } from '../errors'
import { applyPosition, formatDuration, peopleAhead, secondsUntil, waitMinutes, type Ticket } from '../queue'

/** A WebSocket double: records what the client sent, lets the test play the server. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  sent: Record<string, unknown>[] = []
  closedWith: number | null = null
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null

  constructor(readonly url: string) {
    FakeSocket.all.push(this)
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }
  close(code = 1000): void {
    this.closedWith = code
    this.readyState = 3
  }
  // server side
  open(): void {
    this.readyState = 1
    this.onopen?.({})
  }
  deliver(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) })
  }
  welcome(latest = 0, heartbeat = 20): void {
    this.deliver({
      id: null,
      type: 'welcome',
      data: {
        principal: 'device:1',
        kind: 'device',
        name: 'k',
        roles: [],
        node: 'n',
        latest_event_id: latest,
        replayed: 0,
        heartbeat_seconds: heartbeat,
      },
    })
  }
  drop(code = 1006): void {
    this.readyState = 3
    this.onclose?.({ code })
  }
  last(): Record<string, unknown> {
    return this.sent[this.sent.length - 1]
  }
}

function latest(): FakeSocket {
  return FakeSocket.all[FakeSocket.all.length - 1]
}

function client() {
  return new RealtimeClient({
    url: 'ws://test/ws',
    socketFactory: (url) => new FakeSocket(url),
    random: () => 0,
    requestTimeoutMs: 5000,
  })
}

describe('backoffDelay', () => {
  it('doubles from 0.5 s up to a 10 s ceiling', () => {
    const none = () => 0
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, {}, none))).toEqual([
      500, 1000, 2000, 4000, 8000, 10000, 10000, 10000,
    ])
  })

  it('takes up to a quarter off at random, never above the ceiling', () => {
    expect(backoffDelay(0, {}, () => 1)).toBe(375)
    expect(backoffDelay(10, {}, () => 1)).toBe(7500)
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(i % 12, {}, Math.random)
      expect(d).toBeGreaterThan(0)
      expect(d).toBeLessThanOrEqual(10_000)
    }
  })

  it('honours custom options', () => {
    expect(backoffDelay(3, { baseMs: 100, maxMs: 500, jitter: 0 })).toBe(500)
    expect(backoffDelay(-1, { baseMs: 100, jitter: 0 })).toBe(100)
  })
})

describe('EventTracker', () => {
  it('keeps the highest id and drops duplicates, lets ephemeral events through', () => {
    const t = new EventTracker()
    expect(t.lastId).toBeNull()
    expect(t.accept(5)).toBe(true)
    expect(t.accept(null)).toBe(true)
    expect(t.accept(undefined)).toBe(true)
    expect(t.accept(5)).toBe(false)
    expect(t.accept(3)).toBe(false)
    expect(t.accept(9)).toBe(true)
    expect(t.lastId).toBe(9)
  })

  it('starts a fresh connection at the server’s latest id, keeps its own when resuming', () => {
    const fresh = new EventTracker()
    fresh.welcome(40)
    expect(fresh.lastId).toBe(40)
    const resuming = new EventTracker()
    resuming.accept(12)
    resuming.welcome(40) // events 13…40 are about to be replayed
    expect(resuming.lastId).toBe(12)
    expect(resuming.accept(13)).toBe(true)
    resuming.resync(40)
    expect(resuming.lastId).toBe(40)
    resuming.reset()
    expect(resuming.lastId).toBeNull()
  })
})

describe('PendingRequests', () => {
  it('matches replies and errors by ref, ignores unknown refs', async () => {
    const p = new PendingRequests()
    const a = p.nextRef()
    const b = p.nextRef()
    expect(a).not.toBe(b)
    const results: unknown[] = []
    p.add(a, { type: 'agent.get', resolve: (d) => results.push(d), reject: (e) => results.push(e) })
    p.add(b, { type: 'offer.accept', resolve: (d) => results.push(d), reject: (e) => results.push(e) })
    expect(p.settle({ type: 'agent.status', data: { state: 'ready' }, ref: 'nope' })).toBe(false)
    expect(p.settle({ type: 'agent.status', data: { state: 'ready' } })).toBe(false)
    expect(
      p.settle({
        type: 'error',
        data: { error_id: 'offer-not-found', message: { 'zh-CN': '该呼入已失效', en: 'gone' }, details: {} },
        ref: b,
      }),
    ).toBe(true)
    expect(p.settle({ type: 'agent.status', data: { state: 'ready' }, ref: a })).toBe(true)
    expect(p.size).toBe(0)
    expect(results[1]).toEqual({ state: 'ready' })
    const err = results[0] as RealtimeError
    expect(err).toBeInstanceOf(RealtimeError)
    expect(err.errorId).toBe('offer-not-found')
    expect(err.requestType).toBe('offer.accept')
    expect(errorSummary(err, 'zh-CN', { network: 'N', unknown: () => 'U' })).toBe('该呼入已失效')
    expect(errorSummary(err, 'en', { network: 'N', unknown: () => 'U' })).toBe('gone')
  })

  it('rejects everything on rejectAll', () => {
    const p = new PendingRequests()
    const errs: RealtimeError[] = []
    p.add(p.nextRef(), { type: 'x', resolve: () => {}, reject: (e) => errs.push(e) })
    p.add(p.nextRef(), { type: 'y', resolve: () => {}, reject: (e) => errs.push(e) })
    p.rejectAll((type) => new RealtimeError({ error_id: 'connection-lost', message: {} }, type))
    expect(errs.map((e) => e.requestType)).toEqual(['x', 'y'])
    expect(p.size).toBe(0)
  })
})

describe('parseEnvelope', () => {
  it('accepts objects with a type and rejects everything else', () => {
    expect(parseEnvelope('{"id":3,"type":"offer","data":{"a":1},"ref":null}')).toMatchObject({
      id: 3,
      type: 'offer',
      data: { a: 1 },
    })
    expect(parseEnvelope('not json')).toBeNull()
    expect(parseEnvelope('[1]')).toBeNull()
    expect(parseEnvelope('{"data":{}}')).toBeNull()
    expect(parseEnvelope(42)).toBeNull()
  })
})

describe('RealtimeClient', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    FakeSocket.all = []
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('says hello, goes online on welcome, answers requests by ref', async () => {
    const rt = client()
    rt.connect('tok')
    expect(rt.state.value).toBe('connecting')
    const s = latest()
    s.open()
    expect(s.sent[0]).toEqual({ type: 'hello', data: { token: 'tok', last_event_id: null } })
    s.welcome(17)
    expect(rt.state.value).toBe('online')
    expect(rt.lastEventId).toBe(17)

    const reply = rt.request('agent.get', {})
    const sent = s.last()
    expect(sent.type).toBe('agent.get')
    s.deliver({ id: null, type: 'agent.status', data: { state: 'ready' }, ref: sent.ref })
    await expect(reply).resolves.toEqual({ state: 'ready' })

    const failing = rt.request('offer.accept', { ticket_id: 3 })
    s.deliver({
      id: null,
      type: 'error',
      data: { error_id: 'offer-not-found', message: { 'zh-CN': '已失效', en: 'gone' }, details: {} },
      ref: s.last().ref,
    })
    await expect(failing).rejects.toMatchObject({ errorId: 'offer-not-found', messages: { en: 'gone' } })
  })

  it('delivers events to subscribers once, tracking the highest id', () => {
    const rt = client()
    const got: unknown[] = []
    const off = rt.on('offer', (data) => got.push(data))
    rt.connect('tok')
    latest().open()
    latest().welcome(10)
    latest().deliver({ id: 11, type: 'offer', data: { n: 1 } })
    latest().deliver({ id: 11, type: 'offer', data: { n: 1 } }) // duplicate
    latest().deliver({ id: 9, type: 'offer', data: { n: 0 } }) // older
    latest().deliver({ id: 12, type: 'offer', data: { n: 2 } })
    expect(got).toEqual([{ n: 1 }, { n: 2 }])
    expect(rt.lastEventId).toBe(12)
    off()
    latest().deliver({ id: 13, type: 'offer', data: { n: 3 } })
    expect(got).toHaveLength(2)
    expect(rt.lastEventId).toBe(13)
  })

  it('reconnects with backoff and resumes from the last event id', () => {
    const rt = client()
    const welcomes: number[] = []
    rt.on('welcome', (w) => welcomes.push(w.latest_event_id))
    rt.connect('tok')
    latest().open()
    latest().welcome(5)
    latest().deliver({ id: 8, type: 'ticket.updated', data: {} })
    latest().drop()
    expect(rt.state.value).toBe('reconnecting')
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(499)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(2)
    // The server is still down: 1 s, then 2 s.
    latest().drop()
    vi.advanceTimersByTime(999)
    expect(FakeSocket.all).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(3)
    latest().drop()
    vi.advanceTimersByTime(2000)
    expect(FakeSocket.all).toHaveLength(4)
    latest().open()
    expect(latest().sent[0]).toEqual({ type: 'hello', data: { token: 'tok', last_event_id: 8 } })
    latest().welcome(12)
    expect(rt.state.value).toBe('online')
    expect(rt.lastEventId).toBe(8) // 9…12 are replayed next
    latest().deliver({ id: 9, type: 'ticket.updated', data: {} })
    expect(rt.lastEventId).toBe(9)
    expect(welcomes).toEqual([5, 12])
    // After a good connection the backoff starts over.
    latest().drop()
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(5)
  })

  it('caps the backoff at 10 s', () => {
    const rt = client()
    rt.connect('tok')
    for (let i = 0; i < 8; i++) {
      latest().drop()
      vi.runOnlyPendingTimers()
    }
    const before = FakeSocket.all.length
    latest().drop()
    vi.advanceTimersByTime(9_999)
    expect(FakeSocket.all).toHaveLength(before)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.all).toHaveLength(before + 1)
  })

  it('moves to the server’s latest id on resync and tells subscribers', () => {
    const rt = client()
    const resyncs: string[] = []
    rt.on('resync', (d) => resyncs.push(d.reason))
    rt.connect('tok')
    latest().open()
    latest().welcome(3)
    latest().deliver({ id: 4, type: 'x', data: {} })
    latest().drop()
    vi.advanceTimersByTime(500)
    latest().open()
    latest().welcome(5000)
    latest().deliver({ id: null, type: 'resync', data: { reason: 'too-many-missed' } })
    expect(resyncs).toEqual(['too-many-missed'])
    expect(rt.lastEventId).toBe(5000)
  })

  it('pings every heartbeat and redials a silent socket', () => {
    const rt = client()
    rt.connect('tok')
    const s = latest()
    s.open()
    s.welcome(0, 20)
    vi.advanceTimersByTime(20_000)
    expect(s.last()).toEqual({ type: 'ping' })
    s.deliver({ id: null, type: 'pong', data: {} })
    vi.advanceTimersByTime(20_000)
    expect(s.sent.filter((m) => m.type === 'ping')).toHaveLength(2)
    // No pong any more: after 2.5 beats of silence the socket is given up.
    vi.advanceTimersByTime(40_000)
    expect(rt.state.value).toBe('reconnecting')
    expect(s.closedWith).toBe(4000)
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('queues requests while reconnecting and fails in-flight ones when the socket drops', async () => {
    const rt = client()
    rt.connect('tok')
    latest().open()
    latest().welcome(0)
    const inflight = rt.request('ticket.get', {})
    latest().drop()
    await expect(inflight).rejects.toMatchObject({ errorId: 'connection-lost' })
    const queued = rt.request('ticket.get', {})
    vi.advanceTimersByTime(500)
    const s = latest()
    s.open()
    expect(s.sent.map((m) => m.type)).toEqual(['hello'])
    s.welcome(0)
    const sent = s.last()
    expect(sent.type).toBe('ticket.get')
    s.deliver({ id: null, type: 'ticket.current', data: { ticket: null }, ref: sent.ref })
    await expect(queued).resolves.toEqual({ ticket: null })
  })

  it('times out requests that get no reply', async () => {
    const rt = client()
    rt.connect('tok')
    latest().open()
    latest().welcome(0)
    const p = rt.request('agent.get', {})
    vi.advanceTimersByTime(5000)
    await expect(p).rejects.toMatchObject({ errorId: 'request-timeout' })
  })

  it('stops on a refused token and reports it', async () => {
    const rt = client()
    const refused: string[] = []
    rt.on('unauthorized', (e) => refused.push(e.error_id))
    rt.connect('bad')
    latest().open()
    latest().deliver({
      id: null,
      type: 'error',
      data: { error_id: 'not-authenticated', message: { 'zh-CN': '请先登录', en: 'Sign in' } },
      ref: null,
    })
    latest().drop(4401)
    expect(rt.state.value).toBe('unauthorized')
    expect(refused).toEqual(['not-authenticated'])
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
    await expect(rt.request('ticket.get', {})).rejects.toMatchObject({ errorId: 'not-connected' })
  })

  it('retries after any other hello failure', () => {
    const rt = client()
    rt.connect('tok')
    latest().open()
    latest().deliver({
      id: null,
      type: 'error',
      data: { error_id: 'hello-required', message: { 'zh-CN': '须先发送 hello', en: 'hello first' } },
      ref: null,
    })
    latest().drop(4401)
    expect(rt.state.value).toBe('reconnecting')
    vi.advanceTimersByTime(500)
    expect(FakeSocket.all).toHaveLength(2)
  })

  it('disconnect() closes for good', () => {
    const rt = client()
    rt.connect('tok')
    latest().open()
    latest().welcome(0)
    rt.disconnect()
    expect(rt.state.value).toBe('idle')
    expect(latest().closedWith).toBe(1000)
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.all).toHaveLength(1)
  })
})

describe('queue helpers', () => {
  it('formats durations and waits', () => {
    expect(formatDuration(0)).toBe('00:00')
    expect(formatDuration(75)).toBe('01:15')
    expect(formatDuration(3725)).toBe('1:02:05')
    expect(waitMinutes(null)).toBeNull()
    expect(waitMinutes(0)).toBe(1)
    expect(waitMinutes(61)).toBe(2)
    expect(peopleAhead(1)).toBe(0)
    expect(peopleAhead(4)).toBe(3)
    expect(peopleAhead(null)).toBe(0)
    expect(secondsUntil('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:00:00Z'))).toBe(10)
    expect(secondsUntil('2026-01-01T00:00:10Z', Date.parse('2026-01-01T00:01:00Z'))).toBe(0)
  })

  it('applies position pushes to the matching ticket only', () => {
    const t = { id: 7, position: 3, expected_wait_seconds: 300 } as Ticket
    expect(applyPosition(t, { ticket_id: 7, position: 2, expected_wait_seconds: null })).toMatchObject({
      position: 2,
      expected_wait_seconds: null,
    })
    expect(applyPosition(t, { ticket_id: 8, position: 1, expected_wait_seconds: 1 })).toBe(t)
    expect(applyPosition(null, { ticket_id: 8, position: 1, expected_wait_seconds: 1 })).toBeNull()
  })

  it('carries the site-saturated hold from a push, and clears it with the next one', () => {
    const t = { id: 7, position: 3, expected_wait_seconds: 300 } as Ticket
    const hold = { reason: 'site-saturated' as const, expected_seconds: 240 }
    const held = applyPosition(t, { ticket_id: 7, position: 1, expected_wait_seconds: 240, held: hold })
    expect(held?.held).toEqual(hold)
    expect(applyPosition(held, { ticket_id: 7, position: 1, expected_wait_seconds: 0 })?.held).toBeNull()
  })
})

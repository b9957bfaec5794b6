import { describe, expect, it } from 'vitest'
import {
  CaseAssist,
  piiKind,
  sameValue,
  type AssistEvents,
  type AssistRequests,
  type AssistTransport,
  type CaseSnapshot,
  type JsonValue,
  type Side,
} from '../caseAssist'
import { RealtimeError } from '../realtime'

/**
 * A small stand-in for the server (cases/assist.py rules): one form, revisions, the
 * conflict rule, confirmation. Messages in both directions wait in queues until the test
 * delivers them, so races can be staged exactly.
 */
class FakeServer {
  values: Record<string, JsonValue> = {}
  revs: Record<string, number> = {}
  rev = 0
  confirmedRev: number | null = null
  inbox: { side: Side; type: string; data: Record<string, unknown>; settle: (ok: boolean, v: unknown) => void }[] = []
  readonly ends = new Map<Side, FakeEnd>()

  end(side: Side): FakeEnd {
    const e = new FakeEnd(this, side)
    this.ends.set(side, e)
    return e
  }

  snapshot(side: Side): CaseSnapshot {
    return {
      case_id: 7,
      number: 'CW20261127-000007',
      state: 'draft',
      service_item_code: 'X',
      service_item_name: '社会保障卡补领',
      ticket_id: 1,
      side,
      editable: true,
      form: {
        form_version_id: 1,
        version: 1,
        schema: { properties: { name: { type: 'string', 'x-pii': 'name' }, age: { type: 'integer' } } },
        layout: {},
      },
      values: { ...this.values },
      field_revs: { ...this.revs },
      rev: this.rev,
      confirmed_rev: this.confirmedRev,
      confirmed_at: null,
      required_materials: [],
      materials: [],
    }
  }

  /** Handle every queued request, in arrival order (replies and events queue up per end). */
  process(): void {
    for (const m of this.inbox.splice(0)) this.handle(m)
  }

  private handle(m: FakeServer['inbox'][number]): void {
    const fail = (error_id: string, details: Record<string, unknown> = {}) =>
      m.settle(false, new RealtimeError({ error_id, message: { en: error_id }, details }, m.type))
    if (m.type === 'case.join') return m.settle(true, this.snapshot(m.side))
    if (m.type === 'case.confirm') {
      if (m.data.rev !== this.rev) return fail('case-confirm-stale', { rev: m.data.rev, current_rev: this.rev })
      this.confirmedRev = this.rev
      const updated = { case_id: 7, number: 'CW', state: 'draft', rev: this.rev, confirmed_rev: this.rev, version: 1 }
      for (const e of this.ends.values()) e.push('case.updated', updated)
      return m.settle(true, { case_id: 7, rev: this.rev, confirmed_at: 'now' })
    }
    const field = String(m.data.field)
    const value = m.data.value as JsonValue
    const current = this.values[field] ?? null
    const rev = this.revs[field] ?? 0
    if (sameValue(current, value)) return m.settle(true, { case_id: 7, field, value: current, rev, outcome: 'unchanged' })
    if (m.data.base_rev !== rev) {
      const d = { case_id: 7, field, value: current, rev, base_rev: m.data.base_rev, attempted: value }
      this.ends.get(m.side)?.push('case.field_conflict', d)
      return fail('case-field-conflict', d)
    }
    this.rev += 1
    this.values[field] = value
    this.revs[field] = this.rev
    this.confirmedRev = null
    const changed = { case_id: 7, field, value, rev: this.rev, by: m.side, confirmed_rev: null }
    for (const e of this.ends.values()) e.push('case.field.changed', changed)
    m.settle(true, { case_id: 7, field, value, rev: this.rev, outcome: 'applied' })
  }
}

class FakeEnd implements AssistTransport {
  private handlers = new Map<string, Set<(d: never) => void>>()
  private reconnect = new Set<() => void>()
  /** Replies and events waiting to be delivered to this end, in order. */
  outbox: (() => void)[] = []
  sent: { type: string; data: Record<string, unknown> }[] = []
  online = true

  constructor(
    readonly server: FakeServer,
    readonly side: Side,
  ) {}

  request<K extends keyof AssistRequests>(type: K, data: AssistRequests[K]['data']): Promise<AssistRequests[K]['reply']> {
    this.sent.push({ type, data: data as Record<string, unknown> })
    return new Promise((resolve, reject) => {
      if (!this.online) {
        reject(new RealtimeError({ error_id: 'connection-lost', message: {}, details: {} }, type))
        return
      }
      this.server.inbox.push({
        side: this.side,
        type,
        data: data as Record<string, unknown>,
        settle: (ok, v) => this.outbox.push(() => (ok ? resolve(v as never) : reject(v))),
      })
    })
  }

  on<K extends keyof AssistEvents>(type: K, handler: (data: AssistEvents[K]) => void): () => void {
    let set = this.handlers.get(type)
    if (!set) this.handlers.set(type, (set = new Set()))
    set.add(handler as (d: never) => void)
    return () => set.delete(handler as (d: never) => void)
  }

  onReconnect(handler: () => void): () => void {
    this.reconnect.add(handler)
    return () => this.reconnect.delete(handler)
  }

  push(type: string, data: unknown): void {
    this.outbox.push(() => {
      for (const h of this.handlers.get(type) ?? []) (h as (d: unknown) => void)(data)
    })
  }

  /** Deliver everything queued for this end; let promise callbacks run. */
  async deliver(): Promise<void> {
    while (this.outbox.length) {
      this.outbox.shift()!()
      await flush()
    }
  }

  /** The socket drops: queued replies are lost, pending requests fail as connection-lost. */
  drop(): void {
    this.outbox = []
    this.online = false
  }

  async back(): Promise<void> {
    this.online = true
    for (const h of this.reconnect) h()
    await flush()
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

async function pair(): Promise<{ server: FakeServer; agent: CaseAssist; kiosk: CaseAssist; a: FakeEnd; k: FakeEnd }> {
  const server = new FakeServer()
  const a = server.end('agent')
  const k = server.end('kiosk')
  const agent = new CaseAssist(a)
  const kiosk = new CaseAssist(k)
  const joined = [agent.join(7), kiosk.join()]
  await round(server, a, k)
  await Promise.all(joined)
  return { server, agent, kiosk, a, k }
}

async function round(server: FakeServer, ...ends: FakeEnd[]): Promise<void> {
  await flush()
  server.process()
  for (const e of ends) await e.deliver()
}

describe('CaseAssist', () => {
  it('joins with a snapshot: the form, the values, the side', async () => {
    const { agent, kiosk, k } = await pair()
    expect(agent.state.side).toBe('agent')
    expect(kiosk.state.side).toBe('kiosk')
    expect(kiosk.state.number).toBe('CW20261127-000007')
    expect(k.sent[0]).toEqual({ type: 'case.join', data: {} })
    expect(piiKind(kiosk.state.form, 'name')).toBe('name')
    expect(piiKind(kiosk.state.form, 'age')).toBeNull()
  })

  it("shows one side's edit on the other side as soon as the server broadcasts it", async () => {
    const { server, agent, kiosk, a, k } = await pair()
    agent.edit('name', '张')
    expect(agent.state.values.name).toBe('张') // shown at once where it is typed
    expect(agent.hasPending).toBe(true)
    await round(server, a, k)
    expect(kiosk.state.values.name).toBe('张')
    expect(kiosk.state.revs.name).toBe(1)
    expect(agent.hasPending).toBe(false)
    expect(agent.state.rev).toBe(1)
  })

  it('keeps one edit per field in flight and sends the newest typed value next', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    agent.edit('name', '张')
    agent.edit('name', '张三')
    agent.edit('name', '张三丰')
    expect(a.sent.filter((m) => m.type === 'case.field.set').map((m) => m.data.value)).toEqual(['张'])
    await round(server, a, k)
    const sets = a.sent.filter((m) => m.type === 'case.field.set')
    expect(sets.map((m) => [m.data.value, m.data.base_rev])).toEqual([
      ['张', 0],
      ['张三丰', 1], // based on the revision the first edit got
    ])
    expect(agent.state.values.name).toBe('张三丰') // never flickers back to 张
    await round(server, a, k)
    expect(kiosk.state.values.name).toBe('张三丰')
    expect(server.values.name).toBe('张三丰')
    expect(agent.hasPending).toBe(false)
  })

  it('edits of different fields by both sides both land', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    agent.edit('name', '李四')
    kiosk.edit('age', 70)
    await round(server, a, k)
    for (const side of [agent, kiosk]) {
      expect(side.state.values).toEqual({ name: '李四', age: 70 })
      expect(side.state.rev).toBe(2)
      expect(side.state.conflicts).toEqual({})
    }
  })

  it('a race on one field: the first edit wins, the loser sees the winner and keeps what it typed', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    agent.edit('name', '王五') // arrives first
    kiosk.edit('name', '王武')
    await round(server, a, k)
    expect(server.values.name).toBe('王五')
    expect(agent.state.values.name).toBe('王五')
    expect(agent.state.conflicts).toEqual({})
    expect(kiosk.state.values.name).toBe('王五')
    expect(kiosk.state.conflicts.name).toEqual({ theirs: '王五', mine: '王武', rev: 1 })
    expect(kiosk.hasPending).toBe(false)
    // The citizen insists: their value goes in on top of the winner's revision.
    kiosk.keepMine('name')
    await round(server, a, k)
    expect(server.values.name).toBe('王武')
    expect(agent.state.values.name).toBe('王武')
    expect(kiosk.state.conflicts).toEqual({})
  })

  it('the loser keeps its newest typed value when more was typed while the lost edit travelled', async () => {
    const { server, kiosk, agent, a, k } = await pair()
    agent.edit('name', 'A')
    kiosk.edit('name', 'B')
    kiosk.edit('name', 'Bc')
    await round(server, a, k)
    expect(kiosk.state.conflicts.name?.mine).toBe('Bc')
    expect(kiosk.state.values.name).toBe('A')
    kiosk.keepTheirs('name')
    expect(kiosk.state.conflicts).toEqual({})
  })

  it('confirmation: the kiosk confirms the current revision; a later edit clears it on both sides', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    agent.edit('name', '赵六')
    await round(server, a, k)
    const confirming = kiosk.confirm()
    await round(server, a, k)
    await confirming
    expect(k.sent.at(-1)).toEqual({ type: 'case.confirm', data: { case_id: 7, rev: 1 } })
    expect(kiosk.confirmed && agent.confirmed).toBe(true)
    agent.edit('age', 66)
    await round(server, a, k)
    expect(agent.confirmed).toBe(false)
    expect(kiosk.confirmed).toBe(false)
    expect(kiosk.state.confirmedRev).toBeNull()
  })

  it('confirming is refused while edits travel, and when the data moved on', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    kiosk.edit('name', 'x')
    await expect(kiosk.confirm()).rejects.toMatchObject({ errorId: 'case-edits-pending' })
    await round(server, a, k)
    // The agent's edit is committed but not yet delivered to the kiosk.
    agent.edit('age', 1)
    await flush()
    server.process()
    await a.deliver()
    const confirming = kiosk.confirm()
    await round(server, k)
    await expect(confirming).rejects.toMatchObject({ errorId: 'case-confirm-stale' })
    expect(kiosk.state.error?.error_id).toBe('case-confirm-stale')
    expect(kiosk.state.values.age).toBe(1)
    const again = kiosk.confirm()
    await round(server, k)
    await expect(again).resolves.toMatchObject({ rev: 2 })
  })

  it('an edit whose reply was lost with the socket is resent on its original base after a re-join', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    kiosk.edit('name', '周七')
    await flush()
    server.process() // committed, but the reply and the broadcast are lost
    k.drop()
    await flush()
    expect(kiosk.hasPending).toBe(true)
    await a.deliver()
    expect(agent.state.values.name).toBe('周七')
    const before = k.sent.length
    await k.back()
    await round(server, k) // re-join → snapshot
    await round(server, k) // the resend
    const resent = k.sent.slice(before).filter((m) => m.type === 'case.field.set')
    expect(resent.map((m) => [m.data.value, m.data.base_rev])).toEqual([['周七', 0]])
    expect(kiosk.hasPending).toBe(false)
    expect(kiosk.state.conflicts).toEqual({}) // it had landed: unchanged, not a conflict
    expect(kiosk.state.values.name).toBe('周七')
    expect(server.rev).toBe(1)
  })

  it('a lost edit that raced the other side is reported as a conflict after the re-join, not forced in', async () => {
    const { server, agent, kiosk, a, k } = await pair()
    k.drop()
    kiosk.edit('name', '孙八') // fails at once: connection lost, stays pending
    await flush()
    agent.edit('name', '孙捌')
    await round(server, a)
    await k.back()
    await round(server, k) // snapshot shows the agent's value; pending edit still shown
    await round(server, a, k) // the resend on base 0 loses
    expect(server.values.name).toBe('孙捌')
    expect(kiosk.state.values.name).toBe('孙捌')
    expect(kiosk.state.conflicts.name).toEqual({ theirs: '孙捌', mine: '孙八', rev: 1 })
    expect(agent.state.values.name).toBe('孙捌')
  })

  it('a capture request shows until the material arrives; decisions update the list', async () => {
    const { kiosk, k } = await pair()
    k.push('case.material.capture_requested', {
      case_id: 7,
      material_code: 'M01',
      name: '居民身份证',
      guide: { aspect_ratio: 1.58, hint_zh: '请将身份证放入框内', hint_en: 'Place the ID card in the frame' },
      requested_by: 'user:5',
    })
    k.push('case.material.capture_requested', { case_id: 99, material_code: 'X', name: '', guide: {}, requested_by: '' })
    await k.deliver()
    expect(kiosk.state.captureRequest?.material_code).toBe('M01') // another case's request ignored
    const material = {
      id: 1,
      case_id: 7,
      material_code: 'M01',
      name: '居民身份证',
      source: 'capture',
      content_type: 'image/jpeg',
      size: 1000,
      width: 2000,
      height: 1260,
      status: 'pending',
      reason: '',
      added_by: 'kiosk',
      created_at: 'now',
      decided_at: null,
    }
    k.push('case.material.added', { case_id: 7, material })
    await k.deliver()
    expect(kiosk.state.captureRequest).toBeNull()
    k.push('case.material.decided', { case_id: 7, material: { ...material, status: 'rejected', reason: '模糊' } })
    await k.deliver()
    expect(kiosk.state.materials).toHaveLength(1)
    expect(kiosk.state.materials[0]).toMatchObject({ status: 'rejected', reason: '模糊' })
  })

  it('a refused edit (bad value) is rolled back to the saved value with the error', async () => {
    const server = new FakeServer()
    const a = server.end('agent')
    const agent = new CaseAssist({
      ...a,
      request: (type, data) =>
        type === 'case.field.set'
          ? Promise.reject(
              new RealtimeError({ error_id: 'case-field-read-only', message: { en: 'read-only' }, details: {} }, type),
            )
          : a.request(type, data),
      on: a.on.bind(a),
      onReconnect: a.onReconnect.bind(a),
    } as AssistTransport)
    const joined = agent.join(7)
    await round(server, a)
    await joined
    agent.edit('name', 'x')
    await flush()
    expect(agent.state.values.name).toBeNull()
    expect(agent.hasPending).toBe(false)
    expect(agent.state.error?.error_id).toBe('case-field-read-only')
  })
})

describe('case.updated', () => {
  const updated = (over: Record<string, unknown>) => ({
    case_id: 7,
    number: 'CW',
    state: 'draft',
    rev: 0,
    confirmed_rev: null,
    version: 1,
    ...over,
  })

  it('the kiosk follows the case the agent opens in its session', async () => {
    const server = new FakeServer()
    const k = server.end('kiosk')
    const kiosk = new CaseAssist(k, { follow: true })
    const still = new CaseAssist(server.end('agent'))
    k.push('case.updated', updated({}))
    await k.deliver()
    await round(server, k)
    expect(kiosk.state.caseId).toBe(7)
    expect(kiosk.state.joined).toBe(true)
    expect(still.state.caseId).toBeNull() // without follow nothing happens
  })

  it('a state move makes the form read-only; data changed elsewhere brings a fresh snapshot', async () => {
    const { server, agent, a, k } = await pair()
    server.values = { name: '经 HTTP 修改' }
    server.revs = { name: 1 }
    server.rev = 1
    a.push('case.updated', updated({ rev: 1 }))
    await a.deliver()
    await round(server, a, k)
    expect(agent.state.values.name).toBe('经 HTTP 修改')
    expect(agent.state.rev).toBe(1)
    a.push('case.updated', updated({ rev: 1, state: 'under_approval' }))
    await a.deliver()
    expect(agent.state.caseState).toBe('under_approval')
    expect(agent.state.editable).toBe(false)
  })
})

describe('sameValue', () => {
  it.each([
    [1, 1, true],
    [true, 1, false],
    [null, '', false],
    [[1, 'a'], [1, 'a'], true],
    [{ a: 1 }, { a: 1 }, true],
    [{ a: 1 }, { b: 1 }, false],
    [{ a: 1 }, { a: 1, b: 2 }, false],
  ])('%j vs %j', (x, y, same) => {
    expect(sameValue(x, y)).toBe(same)
  })
})

import { describe, expect, it, vi } from 'vitest'
import { BridgeClient, BridgeError, bridgeUrl, DEFAULT_BRIDGE_URL, type BridgeSocket } from '../bridge'

/** A socket the test drives: it records what the page sent and delivers frames. */
class FakeSocket implements BridgeSocket {
  readyState = 1
  sent: Record<string, any>[] = []
  onopen: ((ev: unknown) => void) | null = null
  onclose: ((ev: { code: number }) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  send(data: string): void {
    this.sent.push(JSON.parse(data))
  }
  close(): void {
    this.onclose?.({ code: 1000 })
  }
  deliver(msg: object): void {
    this.onmessage?.({ data: JSON.stringify(msg) })
  }
  drop(): void {
    this.onclose?.({ code: 1006 })
  }
}

const HELLO = {
  type: 'hello',
  protocol: 'cloudwindow-bridge/1',
  bridge: { vendor: 'X', model: 'Y', version: '1' },
  devices: [{ device: 'id_reader', present: true, status: 'ok', detail: '' }],
}

function connected(): { client: BridgeClient; socket: FakeSocket; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = []
  const client = new BridgeClient('ws://127.0.0.1:1/', () => {
    const s = new FakeSocket()
    sockets.push(s)
    return s
  })
  client.start()
  sockets[0].deliver(HELLO)
  return { client, socket: sockets[0], sockets }
}

describe('bridgeUrl', () => {
  it('takes ?bridge= or the stored address, loopback only, else the default', () => {
    expect(bridgeUrl('?bridge=ws://127.0.0.1:17801/', null)).toBe('ws://127.0.0.1:17801/')
    expect(bridgeUrl('', 'ws://localhost:9000/')).toBe('ws://localhost:9000/')
    expect(bridgeUrl('?bridge=ws://evil.example:17800/', null)).toBe(DEFAULT_BRIDGE_URL)
    expect(bridgeUrl('', null)).toBe(DEFAULT_BRIDGE_URL)
  })
})

describe('BridgeClient', () => {
  it('answers a request with its result and passes progress on', async () => {
    const { client, socket } = connected()
    expect(client.state.status).toBe('connected')
    const stages: string[] = []
    const pending = client.request('id_reader', 'read', {}, { onProgress: (s) => stages.push(s) })
    const sent = socket.sent[0]
    expect(sent).toMatchObject({ type: 'request', device: 'id_reader', command: 'read', timeout_ms: 30000 })
    socket.deliver({ type: 'progress', id: sent.id, stage: 'reading' })
    socket.deliver({ type: 'result', id: sent.id, ok: true, data: { name: '陈建国' } })
    await expect(pending).resolves.toEqual({ name: '陈建国' })
    expect(stages).toEqual(['reading'])
  })

  it('turns a bridge error into a BridgeError with its stable code', async () => {
    const { client, socket } = connected()
    const pending = client.request('a4_printer', 'print', { pdf: '' })
    socket.deliver({
      type: 'result',
      id: socket.sent[0].id,
      ok: false,
      error: { code: 'out-of-paper', message_zh: '打印机缺纸', message_en: 'The printer is out of paper' },
    })
    const err = await pending.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BridgeError)
    expect((err as BridgeError).code).toBe('out-of-paper')
    expect((err as BridgeError).messageZh).toBe('打印机缺纸')
  })

  it('fails at once when not connected, and fails running requests when the bridge drops', async () => {
    vi.useFakeTimers()
    const { client, socket, sockets } = connected()
    const running = client.request('id_reader', 'read')
    socket.drop()
    await expect(running).rejects.toMatchObject({ code: 'bridge-disconnected' })
    expect(client.state.status).toBe('disconnected')
    await expect(client.request('id_reader', 'read')).rejects.toMatchObject({ code: 'bridge-not-connected' })
    vi.advanceTimersByTime(1000) // reconnects with backoff
    expect(sockets.length).toBe(2)
    sockets[1].deliver(HELLO)
    expect(client.state.status).toBe('connected')
    client.stop()
    vi.useRealTimers()
  })

  it('keeps the devices current from health frames and tells listeners', () => {
    const { client, socket } = connected()
    const seen: string[] = []
    client.onHealth((devices) => seen.push(devices.map((d) => `${d.device}:${d.status}`).join(',')))
    socket.deliver({ type: 'health', device: 'id_reader', present: true, status: 'error', detail: 'jam' })
    socket.deliver({ type: 'health', device: 'a4_printer', present: true, status: 'out_of_paper', detail: '' })
    expect(seen).toEqual(['id_reader:error', 'id_reader:error,a4_printer:out_of_paper'])
  })

  it('gives up on a request the bridge never answers', async () => {
    vi.useFakeTimers()
    const { client } = connected()
    const pending = client.request('receipt_printer', 'print', {}, { timeoutMs: 1000 })
    vi.advanceTimersByTime(6500)
    await expect(pending).rejects.toMatchObject({ code: 'timeout' })
    vi.useRealTimers()
  })
})

import { describe, expect, it, vi } from 'vitest'
import {
  Call,
  classifyQuality,
  pickCamera,
  summarizeStats,
  type CallRole,
  type MediaDevicesLike,
  type MediaEvents,
  type MediaSessionInfo,
  type Signaling,
} from '../call'

const cams = [
  { kind: 'audioinput', deviceId: 'mic', label: 'Mic' },
  { kind: 'videoinput', deviceId: 'front', label: 'HD Webcam' },
  { kind: 'videoinput', deviceId: 'doc', label: 'USB Camera' },
]

describe('pickCamera', () => {
  it('takes the second camera as the document camera, the first as the primary', () => {
    expect(pickCamera(cams, 'primary')).toBe('front')
    expect(pickCamera(cams, 'document')).toBe('doc')
  })
  it('prefers a camera whose label names a document camera, wherever it is', () => {
    const named = [
      { kind: 'videoinput', deviceId: 'a', label: '高拍仪 S500' },
      { kind: 'videoinput', deviceId: 'b', label: 'Integrated Camera' },
    ]
    expect(pickCamera(named, 'document')).toBe('a')
    expect(pickCamera(named, 'primary')).toBe('b')
  })
  it('has no document camera with one camera, and nothing without cameras', () => {
    expect(pickCamera(cams.slice(0, 2), 'document')).toBeUndefined()
    expect(pickCamera(cams.slice(0, 2), 'primary')).toBe('front')
    expect(pickCamera([], 'primary')).toBeUndefined()
  })
})

describe('summarizeStats and classifyQuality', () => {
  it('reads the selected pair, its candidate types and the inbound video', () => {
    const report = new Map<string, Record<string, unknown>>([
      ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
      ['P', { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.052 }],
      ['Q', { id: 'Q', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R', currentRoundTripTime: 0.9 }],
      ['L', { id: 'L', type: 'local-candidate', candidateType: 'relay' }],
      ['L2', { id: 'L2', type: 'local-candidate', candidateType: 'host' }],
      ['R', { id: 'R', type: 'remote-candidate', candidateType: 'relay' }],
      ['V', { id: 'V', type: 'inbound-rtp', kind: 'video', framesDecoded: 42, framesPerSecond: 24, packetsLost: 5, packetsReceived: 95 }],
      ['A', { id: 'A', type: 'inbound-rtp', kind: 'audio', packetsLost: 0, packetsReceived: 100 }],
    ])
    const s = summarizeStats(report)
    expect(s).toMatchObject({ framesDecoded: 42, framesPerSecond: 24, rttMs: 52, localCandidateType: 'relay', remoteCandidateType: 'relay' })
    expect(s.lossRatio).toBeCloseTo(5 / 200)
    expect(summarizeStats(new Map()).framesDecoded).toBe(0)
  })
  it('grades the network', () => {
    expect(classifyQuality({ rttMs: null, lossRatio: null, fps: null })).toBe('unknown')
    expect(classifyQuality({ rttMs: 40, lossRatio: 0, fps: 30 })).toBe('good')
    expect(classifyQuality({ rttMs: 250, lossRatio: 0, fps: 30 })).toBe('fair')
    expect(classifyQuality({ rttMs: 40, lossRatio: 0.03, fps: 30 })).toBe('fair')
    expect(classifyQuality({ rttMs: 40, lossRatio: 0, fps: 8 })).toBe('poor')
    expect(classifyQuality({ rttMs: 600, lossRatio: 0, fps: 30 })).toBe('poor')
  })
})

// ---------------------------------------------------------------------------------------
// Two calls wired through a fake relay, with fake peer connections: the handshake.

class FakeTrack {
  enabled = true
  stopped = false
  constructor(
    readonly kind: string,
    readonly label: string,
    readonly deviceId: string,
  ) {}
  getSettings() {
    return { deviceId: this.deviceId }
  }
  stop() {
    this.stopped = true
  }
}

class FakeStream {
  constructor(public tracks: FakeTrack[]) {}
  getTracks() {
    return [...this.tracks]
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video')
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === 'audio')
  }
  addTrack(t: FakeTrack) {
    this.tracks.push(t)
  }
  removeTrack(t: FakeTrack) {
    this.tracks = this.tracks.filter((x) => x !== t)
  }
}

let offers = 0
class FakePeer {
  signalingState = 'stable'
  iceConnectionState = 'new'
  localDescription: { type: string; sdp: string } | null = null
  remoteDescription: { type: string; sdp: string } | null = null
  candidates: unknown[] = []
  senders: { track: FakeTrack | null; replaceTrack: (t: FakeTrack) => Promise<void> }[] = []
  closed = false
  ontrack: unknown = null
  onicecandidate: unknown = null
  onnegotiationneeded: (() => void) | null = null
  oniceconnectionstatechange: unknown = null
  constructor(readonly config: RTCConfiguration) {}
  addTrack(track: FakeTrack) {
    const sender = { track: track as FakeTrack | null, replaceTrack: async (t: FakeTrack) => void (sender.track = t) }
    this.senders.push(sender)
    // Browsers fire one negotiationneeded for a batch of changes.
    if (this.signalingState === 'stable' && !this.needed) {
      this.needed = true
      queueMicrotask(() => {
        this.needed = false
        this.onnegotiationneeded?.()
      })
    }
  }
  needed = false
  getSenders() {
    return this.senders
  }
  getTransceivers() {
    return []
  }
  async setLocalDescription() {
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: 'v=0 answer' }
      this.signalingState = 'stable'
    } else {
      offers += 1
      this.localDescription = { type: 'offer', sdp: `v=0 offer ${offers}` }
      this.signalingState = 'have-local-offer'
    }
  }
  async setRemoteDescription(d: { type: string; sdp: string }) {
    this.remoteDescription = d
    this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable'
  }
  async addIceCandidate(c: unknown) {
    if (!this.remoteDescription) throw new Error('no remote description')
    this.candidates.push(c)
  }
  async getStats() {
    return new Map()
  }
  restartIce() {
    queueMicrotask(() => this.onnegotiationneeded?.())
  }
  close() {
    this.closed = true
  }
}

/** The server's relay between two ends of one session (an end that is not listening
 * yet misses what is sent, as with the real, ephemeral relay). */
function relay() {
  const handlers: Record<CallRole, Map<string, Set<(d: unknown) => void>>> = { caller: new Map(), callee: new Map() }
  const sent: { from: CallRole; type: string; data: Record<string, unknown> }[] = []
  const end = (role: CallRole): Signaling => {
    const other: CallRole = role === 'caller' ? 'callee' : 'caller'
    return {
      async send(type, data) {
        sent.push({ from: role, type, data })
        if (type === 'media.hangup') {
          for (const r of ['caller', 'callee'] as const)
            for (const h of handlers[r].get('media.ended') ?? []) h({ session_id: 7, ticket_id: 1, reason: 'hangup' })
          return {}
        }
        for (const h of handlers[other].get(type) ?? []) h({ ...data, from: role })
        return {}
      },
      on(type, handler) {
        const m = handlers[role]
        if (!m.has(type)) m.set(type, new Set())
        m.get(type)!.add(handler as (d: unknown) => void)
        return () => m.get(type)!.delete(handler as (d: unknown) => void)
      },
      onReconnect: () => () => {},
    }
  }
  return { end, sent }
}

function devices(): MediaDevicesLike & { requests: MediaStreamConstraints[] } {
  const requests: MediaStreamConstraints[] = []
  return {
    requests,
    async getUserMedia(c: MediaStreamConstraints) {
      requests.push(c)
      const wanted = (c.video as { deviceId?: { exact: string } } | undefined)?.deviceId?.exact ?? 'front'
      const tracks = [new FakeTrack('video', wanted === 'doc' ? 'USB Camera' : 'HD Webcam', wanted)]
      if (c.audio) tracks.push(new FakeTrack('audio', 'Mic', 'mic'))
      return new FakeStream(tracks) as unknown as MediaStream
    },
    async enumerateDevices() {
      return cams
    },
  }
}

function session(role: CallRole): MediaSessionInfo {
  return {
    session_id: 7,
    ticket_id: 1,
    backend: 'p2p',
    state: 'open',
    role,
    ice_servers: [],
    ice_transport_policy: 'all',
    peer: { role: role === 'caller' ? 'callee' : 'caller', kind: 'participant', name: 'x' },
    started_at: '2026-01-01T00:00:00Z',
  }
}

const peers: FakePeer[] = []
function makeCall(role: CallRole, signaling: Signaling, epoch: string) {
  return new Call({
    session: session(role),
    signaling,
    devices: devices(),
    epoch,
    statsIntervalMs: 60_000,
    createPeer: (config) => {
      const pc = new FakePeer(config)
      peers.push(pc)
      return pc as unknown as RTCPeerConnection
    },
  })
}

const settle = () => new Promise((r) => setTimeout(r, 0))

describe('Call handshake', () => {
  for (const first of ['caller', 'callee'] as const) {
    it(`makes exactly one offer, from the caller, when the ${first} loads first`, async () => {
      const net = relay()
      const a = makeCall(first, net.end(first), `${first}-1`)
      await a.start()
      await settle()
      const second = first === 'caller' ? 'callee' : 'caller'
      const b = makeCall(second, net.end(second), `${second}-1`)
      await b.start()
      for (let i = 0; i < 5; i++) await settle()
      const offered = net.sent.filter((m) => m.type === 'media.offer')
      expect(offered.map((m) => m.from)).toEqual(['caller'])
      expect(net.sent.filter((m) => m.type === 'media.answer').map((m) => m.from)).toEqual(['callee'])
      for (const c of [a, b]) {
        const pc = c.pc as unknown as FakePeer
        expect(pc.signalingState).toBe('stable')
        expect(pc.remoteDescription).not.toBeNull()
        expect(pc.senders.map((s) => s.track?.kind).sort()).toEqual(['audio', 'video'])
        expect(c.state.phase).toBe('connecting')
      }
      expect(net.sent.every((m) => m.data.session_id === 7)).toBe(true)
    })
  }

  it('starts over when the kiosk page reloads mid-call, and relays candidates after the offer', async () => {
    const net = relay()
    const agent = makeCall('caller', net.end('caller'), 'agent-1')
    await agent.start()
    const kiosk = makeCall('callee', net.end('callee'), 'kiosk-1')
    await kiosk.start()
    for (let i = 0; i < 5; i++) await settle()
    const firstPc = agent.pc as unknown as FakePeer
    kiosk.end('reload')
    const reloaded = makeCall('callee', net.end('callee'), 'kiosk-2')
    await reloaded.start()
    for (let i = 0; i < 5; i++) await settle()
    expect(firstPc.closed).toBe(true)
    expect(agent.pc).not.toBe(firstPc)
    expect(net.sent.filter((m) => m.type === 'media.offer')).toHaveLength(2)
    await net.end('caller').send('media.candidate', { session_id: 7, candidate: { candidate: 'candidate:1', sdpMid: '0' } })
    await settle()
    expect((reloaded.pc as unknown as FakePeer).candidates).toEqual([{ candidate: 'candidate:1', sdpMid: '0' }])
  })

  it('switches the kiosk to its document camera when the agent asks, on the same sender', async () => {
    const net = relay()
    const agent = makeCall('caller', net.end('caller'), 'agent-1')
    const kiosk = makeCall('callee', net.end('callee'), 'kiosk-1')
    await agent.start()
    await kiosk.start()
    for (let i = 0; i < 5; i++) await settle()
    expect(kiosk.state.hasDocumentCamera).toBe(true)
    const sender = (kiosk.pc as unknown as FakePeer).senders.find((s) => s.track?.kind === 'video')!
    const before = sender.track!
    await agent.requestRemoteCamera('document')
    for (let i = 0; i < 5; i++) await settle()
    expect(sender.track!.deviceId).toBe('doc')
    expect(before.stopped).toBe(true)
    expect(kiosk.state.camera).toBe('document')
    // The kiosk reports it, so the agent's button can show which camera is live.
    expect(agent.state.remote.camera).toBe('document')
    expect(agent.state.remote.cameraLabel).toBe('USB Camera')
    await agent.requestRemoteCamera('primary')
    for (let i = 0; i < 5; i++) await settle()
    expect(sender.track!.deviceId).toBe('front')
    expect(agent.state.remote.camera).toBe('primary')
  })

  it('hangs up for both ends and stops the camera', async () => {
    const net = relay()
    const agent = makeCall('caller', net.end('caller'), 'agent-1')
    const kiosk = makeCall('callee', net.end('callee'), 'kiosk-1')
    await agent.start()
    await kiosk.start()
    for (let i = 0; i < 5; i++) await settle()
    const tracks = kiosk.state.localStream!.getTracks() as unknown as FakeTrack[]
    const pc = kiosk.pc as unknown as FakePeer
    await agent.hangup()
    expect(agent.state.phase).toBe('ended')
    expect(kiosk.state.phase).toBe('ended')
    expect(kiosk.state.endReason).toBe('hangup')
    expect(pc.closed).toBe(true)
    expect(tracks.every((t) => t.stopped)).toBe(true)
    // Nothing more is sent once ended.
    const count = net.sent.length
    kiosk.setMuted(true)
    expect(net.sent.length).toBe(count)
  })

  it('fails clearly when the camera is refused', async () => {
    const net = relay()
    const denied = new Call({
      session: session('callee'),
      signaling: net.end('callee'),
      devices: {
        getUserMedia: vi.fn(async () => {
          throw Object.assign(new Error('no'), { name: 'NotAllowedError' })
        }),
        enumerateDevices: async () => [],
      },
    })
    await denied.start()
    expect(denied.state.phase).toBe('failed')
    expect(denied.state.error).toBe('media-denied')
  })
})

// Keep the event map honest: the relay adds `from` to what a participant sends.
const _typed: MediaEvents['media.ready'] = { session_id: 1, from: 'caller', epoch: 'abcd' }
void _typed

/**
 * The video call of a session, framework-free (docs/protocol.md §Media). Standard WebRTC
 * only: one RTCPeerConnection, signaling over the realtime gateway, device switching with
 * `RTCRtpSender.replaceTrack`, ICE restart when the connection fails or the network
 * changes.
 *
 *   const call = new Call({ session, signaling: realtimeSignaling(rt) })
 *   const off = call.subscribe((s) => render(s))
 *   await call.start()
 *   …
 *   await call.hangup()
 *
 * How the two ends meet (the server relays signaling but stores none of it):
 * - each end, once it has its camera and microphone, sends `media.ready {epoch}`; the
 *   epoch names this page's peer connection, so a reloaded page (new epoch) is told apart
 *   from a repeated hello;
 * - the callee (kiosk) answers a caller's new epoch with its own `media.ready`; the caller
 *   (agent) answers a callee's new epoch by building its connection and sending the offer.
 *   Whichever page loads first, the offer is made only once both are listening;
 * - later negotiation (renegotiation, ICE restarts) follows the "perfect negotiation"
 *   pattern: the callee is polite and yields when both offer at once;
 * - ICE restarts are made by the caller (`restartIce()`); the callee asks for one with
 *   `media.restart`.
 *
 * The media layer may be peer-to-peer or an SFU (`session.backend`): this code only talks
 * to "the peer" and does not care which.
 */
import type { RealtimeClient, LooseProtocol, Protocol } from './realtime'

export type CallRole = 'caller' | 'callee'
export type CameraKind = 'primary' | 'document'
/** starting: getting camera/mic; waiting: for the other end; connecting; connected;
 * reconnecting: ICE restart under way; ended: hung up or closed; failed: no camera etc. */
export type CallPhase = 'starting' | 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'ended' | 'failed'
export type Quality = 'unknown' | 'good' | 'fair' | 'poor'

/** `media.session` / `media.current` data (src/cloudwindow/media/actions.py session_info). */
export interface MediaSessionInfo {
  session_id: number
  ticket_id: number
  backend: string
  state: string
  role: CallRole
  ice_servers: RTCIceServer[]
  ice_transport_policy: RTCIceTransportPolicy
  peer: { role: CallRole; kind: string; name: string }
  started_at: string
  first_frame_ms?: { caller: number | null; callee: number | null }
}

export interface MediaEvents {
  'media.session': MediaSessionInfo
  'media.ended': { session_id: number; ticket_id: number; reason: string }
  'media.offer': { session_id: number; from: CallRole; sdp: string; ice_restart: boolean }
  'media.answer': { session_id: number; from: CallRole; sdp: string; ice_restart: boolean }
  'media.candidate': { session_id: number; from: CallRole; candidate: RTCIceCandidateInit | null }
  'media.ready': { session_id: number; from: CallRole; epoch: string }
  'media.restart': { session_id: number; from: CallRole }
  'media.control': {
    session_id: number
    from: CallRole
    action: 'switch_camera' | 'state'
    camera?: CameraKind
    label?: string
    muted?: boolean
    video_off?: boolean
  }
  'media.first_frame': {
    session_id: number
    role: CallRole
    ms: number
    first_frame_ms: { caller: number | null; callee: number | null }
  }
}

/** The signaling transport a call needs: send a message, hear the relayed ones. */
export interface Signaling {
  send(type: string, data: Record<string, unknown>): Promise<unknown>
  on<K extends keyof MediaEvents>(type: K, handler: (data: MediaEvents[K]) => void): () => void
  /** Called when the transport came back after a drop (not on the first connect). */
  onReconnect(handler: () => void): () => void
}

/** Signaling over the page's realtime client (one WebSocket per page). */
export function realtimeSignaling<P extends Protocol>(client: RealtimeClient<P>): Signaling {
  const rt = client as unknown as RealtimeClient<LooseProtocol>
  return {
    send: (type, data) => rt.request(type, data),
    on: (type, handler) => rt.on(type, handler as (d: unknown) => void),
    onReconnect: (handler) => rt.on('welcome', () => handler()),
  }
}

// ---------------------------------------------------------------------------------------
// Pure parts (unit-tested)

export interface DeviceLike {
  deviceId: string
  kind: string
  label: string
}

/** Labels that name a document camera (高拍仪), in the words vendors use. */
const DOCUMENT_CAMERA = /高拍|文档|document|doc[ -]?cam|visuali[sz]er|scanner|book/i

/**
 * The camera to use: `document` is the video input whose label names a document camera,
 * else the second camera (most 高拍仪 are plain UVC cameras); `primary` is the first
 * camera that is not the document camera. Undefined when there is no such device.
 */
export function pickCamera(devices: readonly DeviceLike[], which: CameraKind): string | undefined {
  const cams = devices.filter((d) => d.kind === 'videoinput')
  if (cams.length === 0) return undefined
  const named = cams.find((d) => DOCUMENT_CAMERA.test(d.label))
  const doc = named ?? (cams.length > 1 ? cams[1] : undefined)
  if (which === 'document') return doc?.deviceId
  return (cams.find((d) => d !== doc) ?? cams[0]).deviceId
}

export interface StatsSummary {
  /** Frames decoded from the remote video so far. */
  framesDecoded: number
  framesPerSecond: number | null
  /** Round trip on the selected candidate pair, ms. */
  rttMs: number | null
  /** Packets lost / (received + lost) over all inbound streams since the start. */
  lossRatio: number | null
  packetsLost: number
  packetsReceived: number
  localCandidateType: string | null
  remoteCandidateType: string | null
}

type StatsLike = Iterable<[string, Record<string, unknown>]> | { forEach(cb: (v: Record<string, unknown>) => void): void }

function statsValues(report: StatsLike): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  if ('forEach' in report && typeof report.forEach === 'function') report.forEach((v) => out.push(v))
  else for (const [, v] of report as Iterable<[string, Record<string, unknown>]>) out.push(v)
  return out
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

/** What the call shows from a `getStats()` report (the selected pair, inbound video). */
export function summarizeStats(report: StatsLike): StatsSummary {
  const all = statsValues(report)
  const byId = new Map(all.map((s) => [String(s.id), s]))
  const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId)
  const pair =
    (transport && byId.get(String(transport.selectedCandidatePairId))) ??
    all.find((s) => s.type === 'candidate-pair' && (s.selected === true || (s.nominated === true && s.state === 'succeeded')))
  const video = all.find((s) => s.type === 'inbound-rtp' && (s.kind === 'video' || s.mediaType === 'video'))
  let lost = 0
  let received = 0
  for (const s of all) {
    if (s.type !== 'inbound-rtp') continue
    lost += Math.max(0, num(s.packetsLost) ?? 0)
    received += num(s.packetsReceived) ?? 0
  }
  const rtt = pair ? num(pair.currentRoundTripTime) : null
  return {
    framesDecoded: video ? (num(video.framesDecoded) ?? 0) : 0,
    framesPerSecond: video ? num(video.framesPerSecond) : null,
    rttMs: rtt === null ? null : Math.round(rtt * 1000),
    lossRatio: received + lost > 0 ? lost / (received + lost) : null,
    packetsLost: lost,
    packetsReceived: received,
    localCandidateType: pair ? ((byId.get(String(pair.localCandidateId))?.candidateType as string) ?? null) : null,
    remoteCandidateType: pair ? ((byId.get(String(pair.remoteCandidateId))?.candidateType as string) ?? null) : null,
  }
}

/**
 * The network-quality indicator: poor when the round trip passes 400 ms, loss passes 5 %
 * or video falls under 10 fps; fair over 200 ms, 2 % or under 20 fps; good otherwise.
 * Loss is the share over the last interval (see `Call`), not since the start.
 */
export function classifyQuality(s: { rttMs: number | null; lossRatio: number | null; fps: number | null }): Quality {
  if (s.rttMs === null && s.lossRatio === null && s.fps === null) return 'unknown'
  const rtt = s.rttMs ?? 0
  const loss = s.lossRatio ?? 0
  const fps = s.fps ?? 30
  if (rtt > 400 || loss > 0.05 || fps < 10) return 'poor'
  if (rtt > 200 || loss > 0.02 || fps < 20) return 'fair'
  return 'good'
}

/** A random epoch naming one peer connection of this page. */
export function newEpoch(random: () => number = Math.random): string {
  return Array.from({ length: 12 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[Math.floor(random() * 36)]).join('')
}

// ---------------------------------------------------------------------------------------
// The call

export interface CallState {
  phase: CallPhase
  localStream: MediaStream | null
  remoteStream: MediaStream | null
  muted: boolean
  videoOff: boolean
  camera: CameraKind
  cameraLabel: string
  /** Whether this device has a second (document) camera. */
  hasDocumentCamera: boolean
  /** What the other end reported about itself. */
  remote: { camera: CameraKind | null; cameraLabel: string; muted: boolean; videoOff: boolean }
  quality: Quality
  stats: StatsSummary | null
  /** Time to first frame (ms since the agent's accept), as the server recorded it. */
  firstFrameMs: { caller: number | null; callee: number | null }
  endReason: string
  /** Why the call could not start (e.g. camera refused): an error id. */
  error: string
}

export interface MediaDevicesLike {
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>
  enumerateDevices(): Promise<DeviceLike[]>
  addEventListener?(type: 'devicechange', listener: () => void): void
  removeEventListener?(type: 'devicechange', listener: () => void): void
}

export interface CallOptions {
  session: MediaSessionInfo
  signaling: Signaling
  devices?: MediaDevicesLike
  createPeer?: (config: RTCConfiguration) => RTCPeerConnection
  /** How often quality is sampled (ms); 2 s like the telemetry. */
  statsIntervalMs?: number
  /** Disconnected this long (ms) before an ICE restart. */
  restartAfterMs?: number
  /**
   * Called with the peer connection every `statsIntervalMs` while connected.
   * >>> The single call site for quality telemetry (web/src/lib/mediaStats.ts, `media.stats`).
   */
  onStatsTick?: (pc: RTCPeerConnection, session: MediaSessionInfo) => void
  epoch?: string
}

type Message =
  | { kind: 'offer' | 'answer'; sdp: string }
  | { kind: 'candidate'; candidate: RTCIceCandidateInit | null }
  | { kind: 'ready'; epoch: string }
  | { kind: 'restart' }

export class Call {
  readonly session: MediaSessionInfo
  readonly role: CallRole
  readonly polite: boolean
  readonly epoch: string
  state: CallState
  /** The live connection, for tests and telemetry (null until the peer is ready). */
  pc: RTCPeerConnection | null = null

  private readonly signaling: Signaling
  private readonly devices: MediaDevicesLike | undefined
  private readonly createPeer: (config: RTCConfiguration) => RTCPeerConnection
  private readonly statsIntervalMs: number
  private readonly restartAfterMs: number
  private readonly onStatsTick: CallOptions['onStatsTick']
  private readonly listeners = new Set<(s: CallState) => void>()
  private readonly offs: (() => void)[] = []
  /** Signaling is handled in order, and only once our camera and microphone are there. */
  private chain: Promise<void>
  private mediaReady: () => void = () => {}
  private peerEpoch: string | null = null
  private makingOffer = false
  private ignoreOffer = false
  private settingRemoteAnswer = false
  private tracksAdded = false
  private restartTimer: ReturnType<typeof setTimeout> | undefined
  private statsTimer: ReturnType<typeof setInterval> | undefined
  private firstFrameTimer: ReturnType<typeof setInterval> | undefined
  private firstFrameSent = false
  private lastLoss: { lost: number; received: number } | null = null

  constructor(options: CallOptions) {
    this.session = options.session
    this.role = options.session.role
    this.polite = this.role === 'callee'
    this.signaling = options.signaling
    this.devices = options.devices ?? (globalThis.navigator?.mediaDevices as MediaDevicesLike | undefined)
    this.createPeer = options.createPeer ?? ((config) => new RTCPeerConnection(config))
    this.statsIntervalMs = options.statsIntervalMs ?? 2000
    this.restartAfterMs = options.restartAfterMs ?? 2500
    this.onStatsTick = options.onStatsTick
    this.epoch = options.epoch ?? newEpoch()
    this.chain = new Promise<void>((resolve) => (this.mediaReady = resolve))
    this.state = {
      phase: 'starting',
      localStream: null,
      remoteStream: null,
      muted: false,
      videoOff: false,
      camera: 'primary',
      cameraLabel: '',
      hasDocumentCamera: false,
      remote: { camera: null, cameraLabel: '', muted: false, videoOff: false },
      quality: 'unknown',
      stats: null,
      firstFrameMs: options.session.first_frame_ms ?? { caller: null, callee: null },
      endReason: '',
      error: '',
    }
  }

  subscribe(listener: (s: CallState) => void): () => void {
    this.listeners.add(listener)
    listener(this.state)
    return () => this.listeners.delete(listener)
  }

  private update(patch: Partial<CallState>): void {
    this.state = { ...this.state, ...patch }
    for (const l of [...this.listeners]) l(this.state)
  }

  get ended(): boolean {
    return this.state.phase === 'ended'
  }

  /** Get camera and microphone, listen for the peer, and say we are ready. */
  async start(): Promise<void> {
    const id = this.session.session_id
    const mine = <K extends keyof MediaEvents>(type: K, fn: (d: MediaEvents[K]) => void) =>
      this.offs.push(this.signaling.on(type, (d) => (d.session_id === id && !this.ended ? fn(d) : undefined)))
    mine('media.offer', (d) => this.enqueue({ kind: 'offer', sdp: d.sdp }))
    mine('media.answer', (d) => this.enqueue({ kind: 'answer', sdp: d.sdp }))
    mine('media.candidate', (d) => this.enqueue({ kind: 'candidate', candidate: d.candidate }))
    mine('media.ready', (d) => this.enqueue({ kind: 'ready', epoch: d.epoch }))
    mine('media.restart', () => this.enqueue({ kind: 'restart' }))
    mine('media.control', (d) => void this.onControl(d))
    mine('media.first_frame', (d) => this.update({ firstFrameMs: d.first_frame_ms }))
    mine('media.ended', (d) => this.end(d.reason))
    this.offs.push(this.signaling.onReconnect(() => this.onSignalingBack()))
    const onNetwork = () => this.restart()
    globalThis.addEventListener?.('online', onNetwork)
    this.offs.push(() => globalThis.removeEventListener?.('online', onNetwork))
    const conn = (globalThis.navigator as { connection?: EventTarget } | undefined)?.connection
    conn?.addEventListener?.('change', onNetwork)
    this.offs.push(() => conn?.removeEventListener?.('change', onNetwork))

    try {
      if (!this.devices) throw new Error('no media devices')
      const stream = await this.devices.getUserMedia({ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } })
      if (this.ended) {
        stream.getTracks().forEach((t) => t.stop())
        return
      }
      const cams = (await this.devices.enumerateDevices()).filter((d) => d.kind === 'videoinput')
      const video = stream.getVideoTracks()[0]
      const docId = pickCamera(cams, 'document')
      this.update({
        localStream: stream,
        cameraLabel: video?.label ?? '',
        camera: docId && video?.getSettings?.().deviceId === docId ? 'document' : 'primary',
        hasDocumentCamera: docId !== undefined,
        phase: 'waiting',
      })
    } catch (err) {
      this.update({ phase: 'failed', error: (err as { name?: string }).name === 'NotAllowedError' ? 'media-denied' : 'media-unavailable' })
      return
    }
    this.mediaReady() // what the peer sent meanwhile is handled now, in order
    await this.send('media.ready', { epoch: this.epoch })
    this.reportState()
  }

  // Signaling in, one message at a time (a candidate must wait for the offer before it).
  private enqueue(message: Message): void {
    this.chain = this.chain
      .then(() => this.handle(message))
      .catch((err) => console.warn('call: signaling message failed', err))
  }

  private async handle(m: Message): Promise<void> {
    if (this.ended) return
    switch (m.kind) {
      case 'ready':
        return this.onPeerReady(m.epoch)
      case 'offer':
      case 'answer':
        return this.onDescription({ type: m.kind, sdp: m.sdp })
      case 'candidate':
        if (!this.pc) return
        try {
          await this.pc.addIceCandidate(m.candidate ?? undefined)
        } catch (err) {
          if (!this.ignoreOffer) throw err
        }
        return
      case 'restart':
        if (this.role === 'caller') this.restart()
        return
    }
  }

  private async onPeerReady(epoch: string): Promise<void> {
    if (epoch === this.peerEpoch) return
    const hadPeer = this.peerEpoch !== null || this.pc !== null
    this.peerEpoch = epoch
    if (hadPeer) this.closePeer() // the other page reloaded: start over
    if (this.role === 'callee') {
      // Tell a (re)loaded caller that we are here; it then sends the offer.
      await this.send('media.ready', { epoch: this.epoch })
      return
    }
    this.ensurePeer()
    this.addTracks() // → negotiationneeded → the offer
  }

  private async onDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const pc = this.ensurePeer()
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.settingRemoteAnswer)
    const collision = description.type === 'offer' && !readyForOffer
    this.ignoreOffer = !this.polite && collision
    if (this.ignoreOffer) return
    this.settingRemoteAnswer = description.type === 'answer'
    await pc.setRemoteDescription(description)
    this.settingRemoteAnswer = false
    if (description.type === 'offer') {
      this.addTracks() // the callee sends its media in its answer
      await pc.setLocalDescription()
      const local = pc.localDescription
      if (local) await this.send('media.answer', { sdp: local.sdp })
    }
  }

  private ensurePeer(): RTCPeerConnection {
    if (this.pc) return this.pc
    const pc = this.createPeer({
      iceServers: this.session.ice_servers,
      iceTransportPolicy: this.session.ice_transport_policy,
      bundlePolicy: 'max-bundle',
    })
    this.pc = pc
    this.tracksAdded = false
    this.update({ remoteStream: null, phase: 'connecting' })
    pc.ontrack = ({ track }) => {
      // A new stream object each time, so views re-bind it (srcObject) with every track.
      const tracks = this.state.remoteStream?.getTracks().filter((t) => t.kind !== track.kind) ?? []
      this.update({ remoteStream: new MediaStream([...tracks, track]) })
    }
    pc.onicecandidate = ({ candidate }) => {
      if (this.pc === pc) void this.send('media.candidate', { candidate: candidate ? candidate.toJSON() : null })
    }
    pc.onnegotiationneeded = async () => {
      if (this.pc !== pc) return
      try {
        this.makingOffer = true
        await pc.setLocalDescription()
        const local = pc.localDescription
        if (local && local.type === 'offer') {
          const restarting = this.state.phase === 'reconnecting'
          await this.send('media.offer', { sdp: local.sdp, ice_restart: restarting })
        }
      } catch (err) {
        console.warn('call: offer failed', err)
      } finally {
        this.makingOffer = false
      }
    }
    pc.oniceconnectionstatechange = () => this.onIceState(pc)
    this.startTimers()
    return pc
  }

  private addTracks(): void {
    const pc = this.pc
    const stream = this.state.localStream
    if (!pc || !stream || this.tracksAdded) return
    this.tracksAdded = true
    for (const track of stream.getTracks()) pc.addTrack(track, stream)
  }

  private onIceState(pc: RTCPeerConnection): void {
    if (this.pc !== pc || this.ended) return
    const s = pc.iceConnectionState
    if (s === 'connected' || s === 'completed') {
      if (this.restartTimer !== undefined) clearTimeout(this.restartTimer)
      this.restartTimer = undefined
      this.update({ phase: 'connected' })
    } else if (s === 'failed') {
      this.restart()
    } else if (s === 'disconnected') {
      this.update({ phase: 'reconnecting' })
      if (this.restartTimer === undefined) {
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined
          if (this.pc === pc && pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed') this.restart()
        }, this.restartAfterMs)
      }
    }
  }

  /** ICE restart: the caller re-offers with new ICE credentials; the callee asks it to. */
  restart(): void {
    if (this.ended || !this.pc) return
    this.update({ phase: 'reconnecting' })
    if (this.role === 'caller') this.pc.restartIce()
    else void this.send('media.restart', {})
  }

  private onSignalingBack(): void {
    if (this.ended || this.state.phase === 'starting' || this.state.phase === 'failed') return
    // The other page may have reloaded while we were away: say hello again (same epoch,
    // so a peer that knows us ignores it); and if media dropped too, restart ICE.
    void this.send('media.ready', { epoch: this.epoch })
    const ice = this.pc?.iceConnectionState
    if (this.pc && ice !== 'connected' && ice !== 'completed') this.restart()
  }

  // Device controls ---------------------------------------------------------------------
  setMuted(muted: boolean): void {
    this.state.localStream?.getAudioTracks().forEach((t) => (t.enabled = !muted))
    this.update({ muted })
    this.reportState()
  }

  setVideoOff(videoOff: boolean): void {
    this.state.localStream?.getVideoTracks().forEach((t) => (t.enabled = !videoOff))
    this.update({ videoOff })
    this.reportState()
  }

  /** Switch this end's camera (the kiosk's document camera and back): a new track replaces
   * the old one on the same sender, so nothing is renegotiated. */
  async switchCamera(which: CameraKind): Promise<boolean> {
    const stream = this.state.localStream
    if (!this.devices || !stream || this.ended) return false
    const id = pickCamera(await this.devices.enumerateDevices(), which)
    const old = stream.getVideoTracks()[0]
    if (!id) return false
    if (old?.getSettings?.().deviceId === id) {
      this.update({ camera: which })
      this.reportState()
      return true
    }
    const fresh = (await this.devices.getUserMedia({ video: { deviceId: { exact: id }, width: { ideal: 1280 }, height: { ideal: 720 } } })).getVideoTracks()[0]
    if (!fresh) return false
    fresh.enabled = !this.state.videoOff
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === 'video') ?? this.videoSender()
    if (sender) await sender.replaceTrack(fresh)
    if (old) {
      stream.removeTrack(old)
      old.stop()
    }
    stream.addTrack(fresh)
    this.update({ camera: which, cameraLabel: fresh.label, localStream: stream })
    this.reportState()
    return true
  }

  private videoSender(): RTCRtpSender | undefined {
    return this.pc?.getTransceivers().find((t) => t.receiver.track?.kind === 'video')?.sender
  }

  /** Ask the other end (the kiosk) to switch its camera. */
  requestRemoteCamera(which: CameraKind): Promise<unknown> {
    return this.send('media.control', { action: 'switch_camera', camera: which })
  }

  private async onControl(d: MediaEvents['media.control']): Promise<void> {
    if (d.action === 'switch_camera' && d.camera) {
      await this.switchCamera(d.camera)
      return
    }
    if (d.action === 'state') {
      this.update({
        remote: {
          camera: d.camera ?? this.state.remote.camera,
          cameraLabel: d.label ?? this.state.remote.cameraLabel,
          muted: d.muted ?? false,
          videoOff: d.video_off ?? false,
        },
      })
    }
  }

  private reportState(): void {
    if (this.ended || this.state.phase === 'starting' || this.state.phase === 'failed') return
    void this.send('media.control', {
      action: 'state',
      camera: this.state.camera,
      label: this.state.cameraLabel.slice(0, 200),
      muted: this.state.muted,
      video_off: this.state.videoOff,
    })
  }

  // Stats: first frame, quality, telemetry ----------------------------------------------
  private startTimers(): void {
    if (this.statsTimer === undefined) this.statsTimer = setInterval(() => void this.sample(), this.statsIntervalMs)
    if (this.firstFrameTimer === undefined && !this.firstFrameSent)
      this.firstFrameTimer = setInterval(() => void this.checkFirstFrame(), 200)
  }

  private async checkFirstFrame(): Promise<void> {
    const pc = this.pc
    if (!pc || this.firstFrameSent) return
    const summary = summarizeStats((await pc.getStats()) as unknown as StatsLike)
    if (summary.framesDecoded > 0 && !this.firstFrameSent) {
      this.firstFrameSent = true
      clearInterval(this.firstFrameTimer)
      this.firstFrameTimer = undefined
      try {
        const rec = (await this.send('media.first_frame', {})) as MediaEvents['media.first_frame'] | undefined
        if (rec?.first_frame_ms) this.update({ firstFrameMs: rec.first_frame_ms })
      } catch {
        // recorded or not, the call goes on
      }
    }
  }

  private async sample(): Promise<void> {
    const pc = this.pc
    if (!pc || this.ended) return
    if (this.onStatsTick) {
      try {
        this.onStatsTick(pc, this.session)
      } catch (err) {
        console.warn('call: stats hook failed', err)
      }
    }
    const all = summarizeStats((await pc.getStats()) as unknown as StatsLike)
    // Loss over the last interval, not since the start: a bad minute an hour ago is over.
    const totals = { lost: all.packetsLost, received: all.packetsReceived }
    const prev = this.lastLoss
    this.lastLoss = totals
    const dl = prev ? totals.lost - prev.lost : 0
    const dr = prev ? totals.received - prev.received : 0
    const recent = dl + dr > 0 ? dl / (dl + dr) : null
    const quality = pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed'
      ? classifyQuality({ rttMs: all.rttMs, lossRatio: recent, fps: all.framesPerSecond })
      : 'poor'
    this.update({ stats: all, quality })
  }

  // Ending ------------------------------------------------------------------------------
  /** Hang up: the server closes the call for both ends (`media.ended`). */
  async hangup(): Promise<void> {
    if (this.ended) return
    try {
      await this.send('media.hangup', {})
    } finally {
      this.end('hangup')
    }
  }

  /** Stop everything locally (the call ended, or the page leaves). */
  end(reason = 'closed'): void {
    if (this.ended) return
    for (const off of this.offs.splice(0)) off()
    this.closePeer()
    this.state.localStream?.getTracks().forEach((t) => t.stop())
    this.update({ phase: 'ended', endReason: reason, quality: 'unknown' })
  }

  private closePeer(): void {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer)
    if (this.statsTimer !== undefined) clearInterval(this.statsTimer)
    if (this.firstFrameTimer !== undefined) clearInterval(this.firstFrameTimer)
    this.restartTimer = this.statsTimer = this.firstFrameTimer = undefined
    const pc = this.pc
    this.pc = null
    this.tracksAdded = false
    this.makingOffer = this.ignoreOffer = this.settingRemoteAnswer = false
    this.lastLoss = null
    if (pc) {
      pc.ontrack = pc.onicecandidate = pc.onnegotiationneeded = pc.oniceconnectionstatechange = null
      pc.close()
    }
  }

  private async send(type: string, data: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.signaling.send(type, { session_id: this.session.session_id, ...data })
    } catch (err) {
      const id = (err as { errorId?: string }).errorId
      if (id === 'media-session-closed' || id === 'media-session-not-found') this.end('closed')
      else console.warn(`call: ${type} failed`, err)
      return undefined
    }
  }
}

/**
 * Minimal call page for bench/video_site_link.py: one end of one call, with the product's
 * own modules and the real signaling (no Vue UI):
 *
 * - `RealtimeClient` (web/src/lib/realtime.ts): the page's one WebSocket to /ws;
 * - kiosk: `ticket.take` when the bench calls `window.H.take()`; agent: `agent.state
 *   ready`, and `offer.accept` for every `offer`: the real queue flow opens the call;
 * - `Call` (web/src/lib/call.ts) on `media.session`: ready handshake, offer/answer,
 *   trickle ICE, all through the gateway;
 * - `CapKeeper` (web/src/lib/mediaCaps.ts) applies every `media.cap` the server pushes
 *   (none arrive when the server runs with `media_caps_enabled = false`);
 * - `StatsReporter` (web/src/lib/mediaStats.ts) on Call's 2 s stats tick sends
 *   `media.stats`; the bench reads the stored samples from the database.
 *
 * ICE: the bench lets media use only the shaped path: this page drops remote candidates
 * whose address is not in `?media=` (address prefixes), in the SDP and trickled, so no
 * pair can form over the unshaped control link (Chromium gathers host candidates on
 * every interface). The router also drops packets from the control subnet.
 */
import { RealtimeClient, type LooseProtocol } from '@/lib/realtime'
import { Call, realtimeSignaling, type MediaSessionInfo } from '@/lib/call'
import { CapKeeper, type MediaCap } from '@/lib/mediaCaps'
import { StatsReporter, type MediaStatsReport } from '@/lib/mediaStats'

const q = new URLSearchParams(location.search)
const role = q.get('role') === 'agent' ? 'agent' : 'kiosk'
const token = q.get('token') ?? ''
const item = q.get('item') ?? '440118-GG-0002'
const mediaPrefixes = (q.get('media') ?? '').split(',').filter(Boolean)
const render = q.get('render') === '1'
// ?videoOff=1: this end turns its camera off once connected (the track is disabled, so
// it sends black frames at a trickle). The bench's one-way mode measures one direction of
// the site link per run and halves the encoders and decoders the machine must drive.
const videoOff = q.get('videoOff') === '1'

const allowed = (address: string | undefined | null): boolean =>
  mediaPrefixes.length === 0 || (!!address && mediaPrefixes.some((p) => address.startsWith(p)))

/** The address of an `a=candidate` / candidate string (5th field). */
function candidateAddress(candidate: string): string | undefined {
  return candidate.replace(/^a=/, '').split(' ')[4]
}

/** An RTCPeerConnection that ignores remote candidates outside the media subnets. */
class MediaOnlyPeer extends RTCPeerConnection {
  /** The remote candidates ignored ("udp 10.77.9.2"), for the bench's report. */
  dropped: string[] = []
  private drop(line: string): void {
    const f = line.replace(/^a=/, '').split(' ')
    this.dropped.push(`${f[2]} ${f[4]} ${f[7]}`)
  }
  override addIceCandidate(candidate?: RTCIceCandidateInit | RTCIceCandidate | null): Promise<void> {
    const line = candidate?.candidate
    if (line && !allowed(candidateAddress(line))) {
      this.drop(line)
      return Promise.resolve()
    }
    return super.addIceCandidate(candidate ?? undefined)
  }
  override setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    if (description.sdp) {
      const lines = description.sdp.split('\r\n').filter((l) => {
        if (!l.startsWith('a=candidate:')) return true
        const keep = allowed(candidateAddress(l))
        if (!keep) this.drop(l)
        return keep
      })
      description = { type: description.type, sdp: lines.join('\r\n') }
    }
    return super.setRemoteDescription(description)
  }
}

interface Harness {
  role: string
  online: boolean
  phase: string
  sessionId: number | null
  ticketId: number | null
  ticketState: string
  held: unknown
  caps: (MediaCap & { t: number })[]
  applied: { t: number; kbps: number; senders: number }[]
  samples: (MediaStatsReport & { t: number })[]
  sessionAt: number | null
  connectedAt: number | null
  errors: string[]
  take(): Promise<unknown>
  pair(): Promise<Record<string, unknown> | null>
  raw(): Promise<Record<string, number> | null>
  hangup(): Promise<void>
}

const rt = new RealtimeClient<LooseProtocol>()
const signaling = realtimeSignaling(rt)
let call: Call | null = null
let keeper: CapKeeper | null = null
const latestCap = new Map<number, MediaCap>()

const H: Harness = {
  role,
  online: false,
  phase: 'idle',
  sessionId: null,
  ticketId: null,
  ticketState: '',
  held: null,
  caps: [],
  applied: [],
  samples: [],
  sessionAt: null,
  connectedAt: null,
  errors: [],
  take: () =>
    rt.request('ticket.take', { service_item_code: item, priority: 'normal' }).then((r) => {
      const ticket = (r as { ticket: { id: number; state: string } }).ticket
      H.ticketId = ticket.id
      H.ticketState = ticket.state
      return ticket
    }),
  /** The selected candidate pair's addresses (to check media took the shaped path). */
  pair: async () => {
    const pc = call?.pc
    if (!pc) return null
    const stats = await pc.getStats()
    const byId = new Map<string, Record<string, unknown>>()
    let pairId: string | null = null
    stats.forEach((s: Record<string, unknown>) => {
      byId.set(String(s.id), s)
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = String(s.selectedCandidatePairId)
    })
    const pair = pairId ? byId.get(pairId) : undefined
    if (!pair) return null
    const local = byId.get(String(pair.localCandidateId))
    const remote = byId.get(String(pair.remoteCandidateId))
    return {
      local: local?.address ?? local?.ip,
      remote: remote?.address ?? remote?.ip,
      dropped: (pc as MediaOnlyPeer).dropped ?? [],
    }
  },
  /** Raw counters of the video streams (for diagnosis: keyframes, PLIs, NACKs, the
   * encoder's target and time per frame), read by the bench at the window's two ends. */
  raw: async () => {
    const pc = call?.pc
    if (!pc) return null
    const out: Record<string, number> = {}
    const add = (prefix: string, s: Record<string, unknown>, keys: string[]) => {
      for (const k of keys) if (typeof s[k] === 'number') out[prefix + k] = (out[prefix + k] ?? 0) + (s[k] as number)
    }
    const stats = await pc.getStats()
    stats.forEach((s: Record<string, unknown>) => {
      if (s.kind !== 'video') return
      if (s.type === 'outbound-rtp') {
        add('out.', s, ['bytesSent', 'framesEncoded', 'keyFramesEncoded', 'pliCount', 'firCount', 'nackCount',
          'retransmittedBytesSent', 'totalEncodeTime', 'targetBitrate', 'qualityLimitationResolutionChanges'])
        const d = s.qualityLimitationDurations as Record<string, number> | undefined
        if (d) for (const [k, v] of Object.entries(d)) out[`out.limit.${k}`] = (out[`out.limit.${k}`] ?? 0) + v
      } else if (s.type === 'inbound-rtp') {
        add('in.', s, ['bytesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesDropped', 'pliCount', 'nackCount',
          'packetsLost', 'packetsReceived', 'totalDecodeTime', 'freezeCount', 'totalFreezesDuration'])
      }
    })
    return out
  },
  hangup: async () => {
    await call?.hangup()
  },
}
;(window as unknown as { H: Harness }).H = H

function applyCap(sessionId: number): void {
  const cap = latestCap.get(sessionId)
  if (!keeper || !cap || keeper.sessionId !== sessionId) return
  void keeper.receive(cap).then((senders) => H.applied.push({ t: Date.now(), kbps: cap.max_bitrate_kbps, senders }))
}

function join(info: MediaSessionInfo | null): void {
  if (!info || info.state !== 'open') return
  if (call && call.session.session_id === info.session_id) return
  call?.end('replaced')
  H.sessionId = info.session_id
  H.sessionAt = Date.now()
  keeper = new CapKeeper(info.session_id)
  const reporter = new StatsReporter(info.session_id, (report) => {
    H.samples.push({ t: Date.now(), ...report })
    return rt.request('media.stats', report as unknown as Record<string, unknown>)
  })
  const next = new Call({
    session: info,
    signaling,
    createPeer: (config) => new MediaOnlyPeer(config),
    onStatsTick: (pc) => void reporter.tick(pc),
  })
  call = next
  const video = render ? (document.getElementById('remote') as HTMLVideoElement | null) : null
  next.subscribe((s) => {
    H.phase = s.phase
    // ?render=1: show the remote video like the call UI does (costs CPU; without it the
    // frames are still received, decoded and counted).
    if (video && video.srcObject !== s.remoteStream) video.srcObject = s.remoteStream
    if (s.error) H.errors.push(s.error)
    if (s.phase === 'connected' && next.pc && keeper) {
      if (H.connectedAt === null) {
        H.connectedAt = Date.now()
        if (videoOff) next.setVideoOff(true)
      }
      void keeper.attach(next.pc).then(() => applyCap(info.session_id))
    }
  })
  void next.start()
}

rt.on('welcome', () => {
  H.online = true
  if (role === 'agent') void rt.request('agent.state', { state: 'ready' }).catch((e) => H.errors.push(String(e)))
  void rt
    .request('media.get', {})
    .then((r) => join((r as { session: MediaSessionInfo | null }).session))
    .catch(() => undefined)
})
rt.on('media.session', (info) => join(info as MediaSessionInfo))
rt.on('media.cap', (data) => {
  const cap = data as MediaCap
  H.caps.push({ t: Date.now(), ...cap })
  latestCap.set(cap.session_id, cap)
  applyCap(cap.session_id)
})
rt.on('queue.position', (data) => {
  H.held = (data as { held?: unknown }).held ?? null
})
rt.on('ticket.updated', (data) => {
  const ticket = (data as { ticket?: { id: number; state: string } }).ticket
  if (ticket && ticket.id === H.ticketId) H.ticketState = ticket.state
})
rt.on('offer', (data) => {
  const ticket = (data as { ticket: { id: number } }).ticket
  void rt.request('offer.accept', { ticket_id: ticket.id }).catch((e) => H.errors.push(String(e)))
})
rt.on('error', (e) => H.errors.push(JSON.stringify(e)))
rt.connect(token)

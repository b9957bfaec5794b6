/**
 * Video bitrate caps from the site bandwidth budget (docs/protocol.md §Media caps).
 *
 * The server pushes `media.cap {session_id, max_bitrate_kbps, reason, site_id}` to each
 * end of a call whenever a call starts or ends at one of its sites; the cap is for the
 * video this end *sends*. Apply it with standard WebRTC only:
 *
 *   const caps = new CapKeeper(session.session_id)
 *   rt.on('media.cap', (cap) => caps.receive(cap))      // remembers the latest cap
 *   caps.attach(pc)                                     // applies it now and on every later cap
 *   // after renegotiation or a camera switch (replaceTrack keeps parameters, but a new
 *   // transceiver does not):
 *   await caps.reapply()
 *
 * `applyCap(pc, kbps)` sets `encodings[0].maxBitrate` on every video sender and asks the
 * encoder to keep the frame rate (`degradationPreference: "maintain-framerate"`): under
 * a tight cap the resolution drops first, which a citizen notices far less than stutter.
 */

/** The parts of RTCRtpSender used here (so tests can pass a fake). */
export interface SenderLike {
  readonly track: { readonly kind: string } | null
  getParameters(): RTCRtpSendParameters
  setParameters(parameters: RTCRtpSendParameters): Promise<void>
}

export interface PeerLike {
  getSenders(): readonly SenderLike[]
}

export interface MediaCap {
  session_id: number
  ticket_id?: number
  max_bitrate_kbps: number
  reason?: string
  site_id?: number | null
}

type Params = RTCRtpSendParameters & { degradationPreference?: string }

/**
 * Cap every video sender of `pc` at `kbps`. Returns how many senders were capped: 0
 * before negotiation (no encodings yet: call again once connected).
 */
export async function applyCap(pc: PeerLike, kbps: number): Promise<number> {
  if (!Number.isFinite(kbps) || kbps <= 0) return 0
  const bps = Math.round(kbps * 1000)
  let capped = 0
  for (const sender of pc.getSenders()) {
    if (sender.track?.kind !== 'video') continue
    const params = sender.getParameters() as Params
    const first = params.encodings?.[0]
    if (!first) continue // not negotiated yet: setParameters may not add encodings
    if (first.maxBitrate === bps && params.degradationPreference === 'maintain-framerate') {
      capped++
      continue
    }
    first.maxBitrate = bps
    params.degradationPreference = 'maintain-framerate'
    try {
      await sender.setParameters(params)
    } catch {
      // A browser without degradationPreference: the cap alone still matters.
      const again = sender.getParameters() as Params
      if (!again.encodings?.[0]) continue
      again.encodings[0].maxBitrate = bps
      await sender.setParameters(again)
    }
    capped++
  }
  return capped
}

/** Keeps the latest cap of one call and applies it to that call's peer connection. */
export class CapKeeper {
  private pc: PeerLike | null = null
  private kbps: number | null = null
  private chain: Promise<unknown> = Promise.resolve()
  /** The cap in force (kbit/s) and what set it, for the UI. */
  current: MediaCap | null = null

  constructor(readonly sessionId: number) {}

  /** A `media.cap` event: kept if it is for this call, applied if a connection is attached. */
  receive(cap: MediaCap): Promise<number> {
    if (cap.session_id !== this.sessionId) return Promise.resolve(0)
    this.current = cap
    this.kbps = cap.max_bitrate_kbps
    return this.reapply()
  }

  attach(pc: PeerLike): Promise<number> {
    this.pc = pc
    return this.reapply()
  }

  detach(): void {
    this.pc = null
  }

  /** Apply the latest cap again (after renegotiation); setParameters calls never overlap. */
  reapply(): Promise<number> {
    const pc = this.pc
    const kbps = this.kbps
    if (!pc || kbps === null) return Promise.resolve(0)
    const next = this.chain.then(() => applyCap(pc, kbps))
    this.chain = next.catch(() => 0)
    return next
  }
}

/**
 * Quality telemetry: a sampler over `RTCPeerConnection.getStats()` (docs/protocol.md
 * §Media quality).
 *
 * Every 2 s each end of a call turns two consecutive stats reports into one compact
 * summary of the interval between them and sends it as `media.stats`:
 *
 *   const reporter = new StatsReporter(session.session_id, (data) => rt.request('media.stats', data))
 *   // on each tick (Call's `onStatsTick`, every 2 s):
 *   await reporter.tick(pc)                 // getStats → summary → media.stats (first tick: baseline only)
 *
 *   // or without sending, e.g. for a local quality readout:
 *   const sampler = new StatsSampler()
 *   const summary = sampler.next(await pc.getStats())   // null on the first report
 *
 * The summary (`MediaStatsReport`, the wire format):
 * - `dt_ms`: the interval covered (from the reports' own timestamps);
 * - `in` (received video, inbound-rtp kind video): `fps` (frames decoded in the
 *   interval / seconds — not the instantaneous framesPerSecond, so a 2 s interval at
 *   6 fps shows as 6 even if it had a good moment), `w`/`h` (frameWidth/Height), `kbps`
 *   (Δ bytesReceived), `frames` (Δ framesDecoded), `freezes` (Δ freezeCount), `freeze_ms`
 *   (Δ totalFreezesDuration), `jb_ms` (Δ jitterBufferDelay / Δ jitterBufferEmittedCount,
 *   the mean delay per frame), `loss` (Δ packetsLost / (Δ lost + Δ received));
 * - `out` (sent video, outbound-rtp kind video; layers summed): `fps`, `w`/`h` (largest
 *   layer), `kbps` (Δ bytesSent), `limit` (qualityLimitationReason: none, cpu,
 *   bandwidth, other);
 * - `net` (the selected candidate pair): `rtt_ms` (currentRoundTripTime), `avail_kbps`
 *   (availableOutgoingBitrate).
 * A part with no stream (camera off, not connected yet) is left out. Counters that went
 * backwards (a new stream after renegotiation) give no deltas for that interval.
 *
 * Why frame rate and not only freezes: under load Chromium mostly lowers frame rate and
 * resolution rather than counting freezes, so `freezes` alone hides stutter.
 */

export interface InboundSummary {
  fps?: number
  w?: number
  h?: number
  kbps?: number
  frames?: number
  freezes: number
  freeze_ms: number
  jb_ms?: number
  loss?: number
}

export interface OutboundSummary {
  fps?: number
  w?: number
  h?: number
  kbps?: number
  limit?: 'none' | 'cpu' | 'bandwidth' | 'other'
}

export interface NetSummary {
  rtt_ms?: number
  avail_kbps?: number
}

/** The `media.stats` message body, without `session_id`. */
export interface MediaStatsSample {
  dt_ms: number
  in?: InboundSummary
  out?: OutboundSummary
  net?: NetSummary
}

export interface MediaStatsReport extends MediaStatsSample {
  session_id: number
}

type Stat = Record<string, unknown>
/** An RTCStatsReport, or anything iterable/forEach-able over stats objects (fixtures). */
export type StatsLike = { forEach(cb: (value: Stat) => void): void } | Iterable<Stat>

/** The counters of one report that the next one is compared with. */
export interface Snapshot {
  at: number // ms
  inbound?: { id: string; bytes: number; frames: number; freezes: number; freezeS: number; jbS: number; jbCount: number; lost: number; received: number; w?: number; h?: number }
  outbound?: { ids: string; bytes: number; frames: number; fps?: number; w?: number; h?: number; limit?: string }
  net?: NetSummary
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const n0 = (v: unknown): number => num(v) ?? 0

function values(report: StatsLike): Stat[] {
  const out: Stat[] = []
  if (typeof (report as { forEach?: unknown }).forEach === 'function') {
    ;(report as { forEach(cb: (v: Stat) => void): void }).forEach((v) => out.push(v))
  } else {
    for (const v of report as Iterable<Stat>) out.push(v)
  }
  return out
}

const LIMITS = new Set(['none', 'cpu', 'bandwidth', 'other'])

/** The counters of interest in one getStats() report. */
export function snapshot(report: StatsLike): Snapshot {
  const all = values(report)
  const isVideo = (s: Stat) => s.kind === 'video' || s.mediaType === 'video'
  // The inbound video stream with the most data (after renegotiation an old one may linger).
  const inbound = all
    .filter((s) => s.type === 'inbound-rtp' && isVideo(s))
    .sort((a, b) => n0(b.bytesReceived) - n0(a.bytesReceived))[0]
  const outbound = all.filter((s) => s.type === 'outbound-rtp' && isVideo(s))
  const snap: Snapshot = { at: 0 }
  snap.at = Math.max(0, ...all.map((s) => n0(s.timestamp)))
  if (inbound) {
    snap.inbound = {
      id: String(inbound.id),
      bytes: n0(inbound.bytesReceived),
      frames: n0(inbound.framesDecoded),
      freezes: n0(inbound.freezeCount),
      freezeS: n0(inbound.totalFreezesDuration),
      jbS: n0(inbound.jitterBufferDelay),
      jbCount: n0(inbound.jitterBufferEmittedCount),
      lost: n0(inbound.packetsLost),
      received: n0(inbound.packetsReceived),
      w: num(inbound.frameWidth),
      h: num(inbound.frameHeight),
    }
  }
  if (outbound.length) {
    const biggest = [...outbound].sort((a, b) => n0(b.frameWidth) - n0(a.frameWidth))[0]
    const reason = String(biggest.qualityLimitationReason ?? '')
    snap.outbound = {
      ids: outbound.map((s) => String(s.id)).sort().join(','),
      bytes: outbound.reduce((t, s) => t + n0(s.bytesSent), 0),
      frames: outbound.reduce((t, s) => t + n0(s.framesEncoded), 0),
      fps: num(biggest.framesPerSecond),
      w: num(biggest.frameWidth),
      h: num(biggest.frameHeight),
      limit: LIMITS.has(reason) ? reason : undefined,
    }
  }
  // The selected pair: named by the transport; else a nominated, succeeded one.
  const byId = new Map(all.map((s) => [String(s.id), s]))
  const transport = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId)
  const pair =
    (transport && byId.get(String(transport.selectedCandidatePairId))) ||
    all.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded')
  if (pair) {
    const rtt = num(pair.currentRoundTripTime)
    const avail = num(pair.availableOutgoingBitrate)
    snap.net = {
      ...(rtt !== undefined ? { rtt_ms: Math.round(rtt * 10000) / 10 } : {}),
      ...(avail !== undefined ? { avail_kbps: Math.round(avail / 1000) } : {}),
    }
  }
  return snap
}

const round1 = (x: number) => Math.round(x * 10) / 10
const kbps = (bytes: number, ms: number) => Math.round((bytes * 8) / ms)

/** The summary of the interval between two snapshots (null: no usable interval). */
export function summarize(prev: Snapshot, cur: Snapshot): MediaStatsSample | null {
  const dt = cur.at - prev.at
  if (!(dt > 0)) return null
  const sample: MediaStatsSample = { dt_ms: Math.round(dt) }
  const a = prev.inbound
  const b = cur.inbound
  if (b) {
    const same = a !== undefined && a.id === b.id && b.frames >= a.frames && b.bytes >= a.bytes
    const inbound: InboundSummary = { freezes: 0, freeze_ms: 0, w: b.w, h: b.h }
    if (same) {
      const frames = b.frames - a.frames
      inbound.frames = frames
      inbound.fps = round1((frames * 1000) / dt)
      inbound.kbps = kbps(b.bytes - a.bytes, dt)
      inbound.freezes = Math.max(0, b.freezes - a.freezes)
      inbound.freeze_ms = Math.min(Math.round(dt), Math.max(0, Math.round((b.freezeS - a.freezeS) * 1000)))
      const emitted = b.jbCount - a.jbCount
      if (emitted > 0) inbound.jb_ms = round1(((b.jbS - a.jbS) * 1000) / emitted)
      const lost = Math.max(0, b.lost - a.lost)
      const got = Math.max(0, b.received - a.received)
      if (lost + got > 0) inbound.loss = Math.round((lost / (lost + got)) * 10000) / 10000
    }
    sample.in = dropUndefined(inbound)
  }
  const o = cur.outbound
  if (o) {
    const p = prev.outbound
    const outbound: OutboundSummary = { w: o.w, h: o.h, limit: o.limit as OutboundSummary['limit'] }
    if (p && p.ids === o.ids && o.bytes >= p.bytes) {
      outbound.kbps = kbps(o.bytes - p.bytes, dt)
      outbound.fps = o.frames > p.frames ? round1(((o.frames - p.frames) * 1000) / dt) : o.fps
    } else {
      outbound.fps = o.fps
    }
    sample.out = dropUndefined(outbound)
  }
  if (cur.net && Object.keys(cur.net).length) sample.net = cur.net
  return sample
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k]
  return o
}

/** Turns consecutive reports into interval summaries. */
export class StatsSampler {
  private last: Snapshot | null = null

  /** Feed the next report; the summary since the previous one (null for the first). */
  next(report: StatsLike): MediaStatsSample | null {
    const cur = snapshot(report)
    const prev = this.last
    this.last = cur
    return prev ? summarize(prev, cur) : null
  }

  reset(): void {
    this.last = null
  }
}

/** Samples a peer connection and sends `media.stats` for one call. */
export class StatsReporter {
  private readonly sampler = new StatsSampler()
  /** The latest summary, for a local readout. */
  latest: MediaStatsSample | null = null

  constructor(
    readonly sessionId: number,
    private readonly send: (report: MediaStatsReport) => Promise<unknown> | void,
  ) {}

  /** One tick: read the stats; send the summary of the interval since the last tick. */
  async tick(pc: { getStats(): Promise<StatsLike> }): Promise<MediaStatsReport | null> {
    const sample = this.sampler.next(await pc.getStats())
    if (!sample) return null
    this.latest = sample
    const report = { session_id: this.sessionId, ...sample }
    try {
      await this.send(report)
    } catch {
      // Telemetry never disturbs the call: a lost or refused report is just skipped.
    }
    return report
  }
}

/** Tick `reporter` every `intervalMs` (2 s); returns a stop function. For pages that do
 * not get ticks from a Call. */
export function startStatsReporter(
  pc: { getStats(): Promise<StatsLike> },
  reporter: StatsReporter,
  intervalMs = 2000,
): () => void {
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void reporter.tick(pc).finally(() => (busy = false))
  }, intervalMs)
  return () => clearInterval(timer)
}

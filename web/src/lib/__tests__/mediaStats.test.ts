import { describe, expect, it, vi } from 'vitest'
import { snapshot, StatsReporter, StatsSampler, summarize, type StatsLike } from '../mediaStats'
import recorded from './fixtures/chromium-stats.json'

type Stat = Record<string, unknown>
const smooth = recorded.smooth as Stat[][]
const capped = recorded.capped as Stat[][]

describe('summaries of recorded Chromium stats', () => {
  it('a smooth interval: fps from frames decoded, bitrate from bytes, no freezes', () => {
    const s = summarize(snapshot(smooth[0]), snapshot(smooth[1]))!
    expect(s.dt_ms).toBe(2003)
    // 117 − 77 = 40 frames in 2.003 s
    expect(s.in).toEqual({
      fps: 20,
      w: 640,
      h: 480,
      frames: 40,
      kbps: 298, // (186589 − 112072) bytes · 8 / 2003 ms
      freezes: 0,
      freeze_ms: 0,
      jb_ms: 0.2, // (0.778069 − 0.770964) s / 40 frames
      loss: 0,
    })
    expect(s.out).toMatchObject({ w: 640, h: 480, kbps: 298, limit: 'none' })
    expect(s.out!.fps).toBeCloseTo(20, 0)
    // The transport's selected pair, not the other nominated one.
    expect(s.net).toEqual({ rtt_ms: 3, avail_kbps: 300 })
  })

  it('a capped sender: the frame rate collapses, which freeze counts alone would not show', () => {
    const s = summarize(snapshot(capped[0]), snapshot(capped[1]))!
    expect(s.in!.fps).toBe(5.5) // 11 frames in 2 s
    expect(s.in!.freezes).toBe(0) // no new freeze in this interval …
    expect(s.in!.fps!).toBeLessThan(15) // … yet it stutters
    expect(s.in!.kbps).toBeLessThan(60)
  })

  it('freezes over an interval are deltas of the counters', () => {
    // From the smooth phase into the capped phase: 2 freezes, 0.701 s frozen.
    const s = summarize(snapshot(smooth[1]), snapshot(capped[0]))!
    expect(s.in!.freezes).toBe(2)
    expect(s.in!.freeze_ms).toBe(701)
  })
})

describe('StatsSampler', () => {
  it('needs a baseline first, then summarises each interval', () => {
    const sampler = new StatsSampler()
    expect(sampler.next(smooth[0])).toBeNull()
    expect(sampler.next(smooth[1])!.in!.frames).toBe(40)
  })

  it('a new stream (counters reset) gives no deltas for that interval', () => {
    const later = smooth[1].map((s) =>
      s.type === 'inbound-rtp' && s.kind === 'video' ? { ...s, id: 'IT99V', framesDecoded: 3, bytesReceived: 900 } : s,
    )
    const s = summarize(snapshot(smooth[0]), snapshot(later))!
    expect(s.in).toEqual({ w: 640, h: 480, freezes: 0, freeze_ms: 0 })
  })

  it('leaves out what is not there: no video received or sent yet', () => {
    const bare: Stat[] = [{ type: 'transport', id: 'T01', timestamp: 1000 }]
    const later: Stat[] = [{ type: 'transport', id: 'T01', timestamp: 3000 }]
    expect(summarize(snapshot(bare), snapshot(later))).toEqual({ dt_ms: 2000 })
    expect(summarize(snapshot(later), snapshot(bare))).toBeNull() // time went backwards
  })

  it('reads a Map-like RTCStatsReport as well as an array', () => {
    const asMap = new Map(smooth[0].map((s) => [String(s.id), s]))
    expect(snapshot(asMap as unknown as StatsLike)).toEqual(snapshot(smooth[0]))
  })
})

describe('StatsReporter', () => {
  it('sends media.stats with the session id from the second tick on, and survives a refusal', async () => {
    const reports = [smooth[0], smooth[1], capped[0]]
    const pc = { getStats: vi.fn(async () => reports.shift()!) }
    const send = vi.fn().mockResolvedValueOnce({}).mockRejectedValueOnce(new Error('media-stats-rate-limited'))
    const reporter = new StatsReporter(42, send)
    expect(await reporter.tick(pc)).toBeNull()
    expect(send).not.toHaveBeenCalled()
    const first = await reporter.tick(pc)
    expect(send).toHaveBeenLastCalledWith(first)
    expect(first).toMatchObject({ session_id: 42, dt_ms: 2003, in: { fps: 20 } })
    const second = await reporter.tick(pc) // refused by the server: no throw
    expect(second!.in!.freezes).toBe(2)
    expect(JSON.stringify(second).length).toBeLessThan(400) // compact on the wire
  })
})

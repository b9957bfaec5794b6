import { describe, expect, it } from 'vitest'
import { applyCap, CapKeeper, type SenderLike } from '../mediaCaps'

/** An RTCRtpSender double that behaves like Chromium's: parameters are copies, and an
 * unknown member makes setParameters reject when `strict` is set. */
class FakeSender implements SenderLike {
  params: RTCRtpSendParameters & { degradationPreference?: string }
  sets = 0
  constructor(
    readonly track: { kind: string } | null,
    encodings: RTCRtpEncodingParameters[] = [{ active: true }],
    private readonly noDegradation = false,
  ) {
    this.params = { transactionId: 't0', encodings, codecs: [], headerExtensions: [], rtcp: {} }
  }
  getParameters(): RTCRtpSendParameters {
    return structuredClone(this.params)
  }
  async setParameters(p: RTCRtpSendParameters & { degradationPreference?: string }): Promise<void> {
    if (this.noDegradation && p.degradationPreference !== undefined) throw new Error('InvalidModificationError')
    this.sets++
    this.params = structuredClone(p)
  }
}

const peer = (...senders: FakeSender[]) => ({ getSenders: () => senders })

describe('applyCap', () => {
  it('caps video senders, keeps frame rate, leaves audio alone', async () => {
    const video = new FakeSender({ kind: 'video' })
    const audio = new FakeSender({ kind: 'audio' })
    expect(await applyCap(peer(video, audio), 352)).toBe(1)
    expect(video.params.encodings[0].maxBitrate).toBe(352_000)
    expect(video.params.degradationPreference).toBe('maintain-framerate')
    expect(audio.sets).toBe(0)
  })

  it('does nothing before negotiation, or for a nonsense cap', async () => {
    const early = new FakeSender({ kind: 'video' }, [])
    expect(await applyCap(peer(early), 500)).toBe(0)
    expect(early.sets).toBe(0)
    const sender = new FakeSender({ kind: 'video' })
    expect(await applyCap(peer(sender), 0)).toBe(0)
    expect(await applyCap(peer(sender), Number.NaN)).toBe(0)
    expect(sender.sets).toBe(0)
  })

  it('does not call setParameters again for the same cap', async () => {
    const sender = new FakeSender({ kind: 'video' })
    await applyCap(peer(sender), 752)
    await applyCap(peer(sender), 752)
    expect(sender.sets).toBe(1)
  })

  it('still caps on a browser that refuses degradationPreference', async () => {
    const sender = new FakeSender({ kind: 'video' }, [{ active: true }], true)
    expect(await applyCap(peer(sender), 300)).toBe(1)
    expect(sender.params.encodings[0].maxBitrate).toBe(300_000)
  })
})

describe('CapKeeper', () => {
  it('remembers a cap that arrives before the connection and applies later ones', async () => {
    const keeper = new CapKeeper(7)
    expect(await keeper.receive({ session_id: 7, max_bitrate_kbps: 752, reason: 'uplink' })).toBe(0)
    const sender = new FakeSender({ kind: 'video' })
    expect(await keeper.attach(peer(sender))).toBe(1)
    expect(sender.params.encodings[0].maxBitrate).toBe(752_000)
    // Another call's cap is not ours.
    await keeper.receive({ session_id: 8, max_bitrate_kbps: 100 })
    expect(sender.params.encodings[0].maxBitrate).toBe(752_000)
    // Two caps in quick succession: applied in order, the last one wins.
    await Promise.all([
      keeper.receive({ session_id: 7, max_bitrate_kbps: 352 }),
      keeper.receive({ session_id: 7, max_bitrate_kbps: 500 }),
    ])
    expect(sender.params.encodings[0].maxBitrate).toBe(500_000)
    expect(keeper.current?.max_bitrate_kbps).toBe(500)
  })
})

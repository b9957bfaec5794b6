/**
 * 全程录音录像 on the agent's desk: records each call with the browser recorder
 * (`@/lib/recorder`) from the moment the citizen's stream arrives until hang-up.
 *
 *     const rec = useCallRecording(() => ticket.value)
 *     <CallView … @call="rec.attach" />   <RecordingBadge :status="rec.status.value" />
 *
 * At mount it also finishes recordings a reload interrupted (chunks kept in IndexedDB).
 */
import { onBeforeUnmount, onMounted, shallowRef } from 'vue'
import type { Call, CallState } from '@/lib/call'
import { recoverPendingRecordings, SessionRecorder, type RecorderStatus } from '@/lib/recorder'
import { recorderTransport } from '@/lib/recordings'

export interface RecordedTicket {
  id: number
  number: string
}

export function useCallRecording(ticket: () => RecordedTicket, label: () => string = () => '') {
  const status = shallowRef<RecorderStatus | null>(null)
  let recorder: SessionRecorder | null = null
  let recordedCall: Call | null = null
  let off: (() => void) | null = null

  function begin(call: Call, s: CallState): void {
    if (!s.localStream || !s.remoteStream) return
    recordedCall = call
    const t = ticket()
    const rec = new SessionRecorder({
      ticketId: t.id,
      mediaSessionId: call.session.session_id,
      local: s.localStream,
      remote: s.remoteStream,
      transport: recorderTransport(),
      label: [t.number, label()].filter(Boolean).join(' · '),
    })
    recorder = rec
    rec.onStatus((st) => (status.value = st))
    rec.start().catch(() => undefined) // the status says why (shown by RecordingBadge)
  }

  function finish(): void {
    const rec = recorder
    recorder = null
    if (rec) void rec.stop() // keeps uploading after the panel is gone
  }

  /** Follow a call: record once the remote stream arrives, stop on hang-up. */
  function attach(call: Call | null): void {
    off?.()
    off = null
    if (recordedCall !== call) finish()
    if (!call) return
    off = call.subscribe((s) => {
      if (!recorder && s.phase === 'connected' && recordedCall !== call) begin(call, s)
      if (recorder && (s.phase === 'ended' || s.phase === 'failed')) finish()
    })
  }

  onMounted(() => {
    void recoverPendingRecordings(recorderTransport()).catch(() => undefined)
  })
  onBeforeUnmount(() => {
    off?.()
    finish()
  })
  return { status, attach }
}

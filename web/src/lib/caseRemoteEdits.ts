/**
 * Which fields of the shared case form the *other* side changed a moment ago, for the
 * form to highlight ("坐席正在填写" on the kiosk, "群众修改" on the agent's desk). Fed
 * by `case.field.changed` (docs/protocol.md §Cases), which names who made each change.
 */
import { reactive } from 'vue'
import type { LooseProtocol, Protocol, RealtimeClient } from './realtime'
import type { FieldChanged, Side } from './caseAssist'

const SHOW_MS = 2500

export function useRemoteEdits<P extends Protocol>(
  client: RealtimeClient<P>,
  me: Side,
  label: () => string,
  caseId: () => number | null,
): { edits: Record<string, string>; last: { field: string; at: number } | null; stop: () => void } {
  const edits = reactive<Record<string, string>>({})
  // The other side's latest change, kept (the highlight fades; this says what it was).
  const state = reactive<{ last: { field: string; at: number } | null }>({ last: null })
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  const rt = client as unknown as RealtimeClient<LooseProtocol>
  const off = rt.on('case.field.changed', (raw) => {
    const d = raw as FieldChanged
    if (d.by === me || d.case_id !== caseId()) return
    edits[d.field] = label()
    state.last = { field: d.field, at: Date.now() }
    const old = timers.get(d.field)
    if (old) clearTimeout(old)
    timers.set(
      d.field,
      setTimeout(() => {
        delete edits[d.field]
        timers.delete(d.field)
      }, SHOW_MS),
    )
  })
  return {
    edits,
    get last() {
      return state.last
    },
    stop() {
      off()
      timers.forEach((timer) => clearTimeout(timer))
      timers.clear()
    },
  }
}

/**
 * Keep a case page fresh: `cases.changed` (to supervisors and approvers, ephemeral) and
 * `case.updated` (to the case's agent) over the WebSocket, plus a slow poll in case the
 * socket is down. The callback is coalesced so a burst of changes reloads once.
 */
import { onBeforeUnmount, onMounted, ref, shallowRef } from 'vue'
import type { CaseView } from '@/lib/casesApi'
import { showError } from '@/lib/notify'
import { RealtimeClient, type LooseProtocol } from '@/lib/realtime'
import { currentToken } from '@/lib/session'

const SOON_MS = 300
const POLL_MS = 30_000

export function useCasesLive(onChange: () => void): { start: () => void; stop: () => void } {
  const rt = new RealtimeClient<LooseProtocol>()
  let soon: ReturnType<typeof setTimeout> | undefined
  let poll: ReturnType<typeof setInterval> | undefined
  const fire = () => {
    if (soon) return
    soon = setTimeout(() => {
      soon = undefined
      onChange()
    }, SOON_MS)
  }
  const offs = [rt.on('cases.changed', fire), rt.on('case.updated', fire), rt.on('resync', fire)]
  return {
    start() {
      const token = currentToken()
      if (token) rt.connect(token)
      poll = setInterval(() => {
        if (!document.hidden) onChange()
      }, POLL_MS)
    },
    stop() {
      offs.forEach((off) => off())
      if (soon) clearTimeout(soon)
      if (poll) clearInterval(poll)
      rt.disconnect()
    },
  }
}

/**
 * One case for a detail page: loaded on mount, re-read whenever cases change (unless
 * `paused`, e.g. while the page's own decision is in flight). Errors are toasted.
 */
export function useLiveCase(fetchCase: () => Promise<CaseView>, paused: () => boolean = () => false) {
  const view = shallowRef<CaseView | null>(null)
  const loading = ref(false)
  async function load(): Promise<void> {
    loading.value = true
    try {
      view.value = await fetchCase()
    } catch (err) {
      showError(err)
    } finally {
      loading.value = false
    }
  }
  const live = useCasesLive(() => {
    if (!paused()) void load()
  })
  onMounted(() => {
    void load()
    live.start()
  })
  onBeforeUnmount(() => live.stop())
  return { view, loading, load }
}

/**
 * The kiosk's state: its device credential, what the citizen is looking at, and the
 * ticket it holds. One module-level store: a kiosk is one screen serving one citizen.
 *
 * Privacy: everything a citizen chose or saw is wiped by `resetForNextCitizen()` (the
 * thank-you screen's countdown, or the idle timer while browsing); the end of a session
 * also runs `wipePersonalData()` (privacy.ts) at once.
 */
import { computed, reactive, shallowRef } from 'vue'
import { api, unwrap } from '@/lib/api'
import { ApiError, errorSummary } from '@/lib/errors'
import { currentLocale, i18n, setLocale } from '@/lib/i18n'
import { RealtimeClient } from '@/lib/realtime'
import { applyPosition, isFinalTicket, type Priority, type QueueProtocol, type Ticket } from '@/lib/queue'
import type { DeviceMe, EnrollResponse, ServiceItem } from '@/lib/models'
import { clearBooking, offerAlternatives } from './bookings'
import { wipePersonalData } from './privacy'

const CREDENTIAL_KEY = 'cloudwindow.kiosk.credential'

export type Screen =
  | 'enroll'
  | 'attract'
  | 'browse'
  | 'item'
  | 'ticket'
  | 'finished'
  | 'appointment' // bookings.ts: closed-hours offer and booking
  | 'callback'
  | 'redeem'
  | 'lookup' // 办件查询 (components/CaseLookup.vue)

interface KioskState {
  credential: string | null
  device: DeviceMe | null
  screen: Screen
  /** The item whose materials are shown / that is being queued for. */
  item: ServiceItem | null
  /** Browsing: the category opened and the search text. */
  category: string | null
  query: string
  ticket: Ticket | null
  /** A request is in flight (buttons show it and ignore taps). */
  busy: boolean
  elderly: boolean
  /** Shown on the enrollment screen (e.g. the credential was revoked). */
  enrollNotice: string
}

function loadCredential(): string | null {
  try {
    return localStorage.getItem(CREDENTIAL_KEY)
  } catch {
    return null
  }
}

const initialCredential = loadCredential()

export const kiosk = reactive<KioskState>({
  credential: initialCredential,
  device: null,
  screen: initialCredential ? 'attract' : 'enroll',
  item: null,
  category: null,
  query: '',
  ticket: null,
  busy: false,
  elderly: false,
  enrollNotice: '',
})

export const rt = new RealtimeClient<QueueProtocol>()

/** The last failure to show, re-rendered when the language changes. */
const failure = shallowRef<{ err: unknown; at: number } | null>(null)

export function errorMessage(err: unknown): string {
  const t = i18n.global.t
  return errorSummary(err, currentLocale(), {
    network: t('errors.network'),
    unknown: (status) => t('errors.unknown', { status }),
  })
}

export const failureText = computed(() => (failure.value ? errorMessage(failure.value.err) : ''))
let failureTimer: ReturnType<typeof setTimeout> | undefined

export function showFailure(err: unknown): void {
  if (!(err instanceof Error)) console.error(err)
  failure.value = { err, at: Date.now() }
  if (failureTimer) clearTimeout(failureTimer)
  failureTimer = setTimeout(() => (failure.value = null), 8000)
}

export function clearFailure(): void {
  failure.value = null
}

function authHeaders(): Record<string, string> {
  return kiosk.credential ? { Authorization: `Bearer ${kiosk.credential}` } : {}
}

// Enrollment and device ------------------------------------------------------------------

/** Exchange a one-time code for the device credential; throws ApiError on failure. */
export async function enroll(code: string): Promise<void> {
  const res: EnrollResponse = await unwrap(api.POST('/api/devices/enroll', { body: { code } }))
  try {
    localStorage.setItem(CREDENTIAL_KEY, res.credential)
  } catch {
    // storage blocked: enrolled until the page reloads
  }
  kiosk.credential = res.credential
  kiosk.enrollNotice = ''
  kiosk.screen = 'attract'
  await start()
}

/** The credential was refused: forget it and ask for a new enrollment code. */
function revoked(): void {
  rt.disconnect()
  try {
    localStorage.removeItem(CREDENTIAL_KEY)
  } catch {
    // ignore
  }
  kiosk.credential = null
  kiosk.device = null
  kiosk.ticket = null
  kiosk.item = null
  kiosk.enrollNotice = i18n.global.t('kiosk.enrollExpired')
  kiosk.screen = 'enroll'
}

let deviceRetry: ReturnType<typeof setTimeout> | undefined

async function loadDevice(attempt = 0): Promise<void> {
  if (deviceRetry) clearTimeout(deviceRetry)
  if (!kiosk.credential) return
  try {
    kiosk.device = await unwrap(api.GET('/api/devices/me', { headers: authHeaders() }))
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      revoked()
      return
    }
    // Server unreachable at boot: keep trying in the background (the header waits).
    deviceRetry = setTimeout(() => void loadDevice(attempt + 1), Math.min(30_000, 2000 * 2 ** attempt))
  }
}

/** Connect with the stored credential: device info for the header, the live socket. */
export async function start(): Promise<void> {
  if (!kiosk.credential) return
  rt.connect(kiosk.credential)
  await loadDevice()
}

// Catalogue ---------------------------------------------------------------------------

export async function fetchCategories() {
  return unwrap(api.GET('/api/service-categories', { headers: authHeaders() }))
}

export async function fetchItems(query: { category?: string; q?: string }) {
  const page = await unwrap(
    api.GET('/api/service-items', {
      headers: authHeaders(),
      params: {
        query: { ...query, cloud_enabled: true, active: true, page_size: 100 },
      },
    }),
  )
  return page.items
}

// Queue -------------------------------------------------------------------------------

function setTicket(ticket: Ticket | null): void {
  const ending = kiosk.ticket !== null && !isFinalTicket(kiosk.ticket.state)
  kiosk.ticket = ticket
  if (!ticket) return
  kiosk.screen = isFinalTicket(ticket.state) ? 'finished' : 'ticket'
  // The session is over: nothing of the citizen stays on this page or the bridge.
  if (ending && isFinalTicket(ticket.state)) void wipePersonalData()
}

/** Re-read the kiosk's ticket (after a reconnect, resync or a refused take). */
export async function refreshTicket(): Promise<void> {
  try {
    const { ticket } = await rt.request('ticket.get', {})
    if (ticket) setTicket(ticket)
    else if (kiosk.ticket && !isFinalTicket(kiosk.ticket.state)) {
      // It ended while we were away and its last update is gone: do not leave a stale number up.
      setTicket({ ...kiosk.ticket, state: 'abandoned' })
    }
  } catch (err) {
    if (!(err instanceof ApiError && err.errorId === 'connection-lost')) console.warn(err)
  }
}

export async function takeTicket(priority: Priority): Promise<void> {
  if (!kiosk.item || kiosk.busy) return
  kiosk.busy = true
  clearFailure()
  try {
    const { ticket } = await rt.request('ticket.take', { service_item_code: kiosk.item.code, priority })
    setTicket(ticket)
  } catch (err) {
    if (offerAlternatives(err)) return
    if (err instanceof ApiError && err.errorId === 'ticket-already-active') {
      await refreshTicket()
      if (!kiosk.ticket) showFailure(err)
    } else {
      showFailure(err)
    }
  } finally {
    kiosk.busy = false
  }
}

async function ticketAction(type: 'ticket.cancel'): Promise<void> {
  const ticket = kiosk.ticket
  if (!ticket || kiosk.busy) return
  kiosk.busy = true
  clearFailure()
  try {
    const reply = await rt.request(type, { ticket_id: ticket.id })
    setTicket(reply.ticket)
  } catch (err) {
    showFailure(err)
    // The ticket may have moved on meanwhile (e.g. just offered): show where it is.
    await refreshTicket()
  } finally {
    kiosk.busy = false
  }
}

export const cancelTicket = () => ticketAction('ticket.cancel')
/** 申请回电 asks for a phone number first (CallbackScreen). */
export const requestCallback = () => {
  if (kiosk.ticket && !isFinalTicket(kiosk.ticket.state)) kiosk.screen = 'callback'
}

rt.on('welcome', () => void refreshTicket())
rt.on('resync', () => void refreshTicket())
rt.on('ticket.updated', ({ ticket }) => {
  const mine = kiosk.ticket
  // Updates of the ticket on screen, or of an active one we did not know about (e.g.
  // after a reload); never resurrect an old, finished ticket from a replay.
  if ((mine && mine.id === ticket.id) || (!mine && !isFinalTicket(ticket.state))) {
    // A late replay must not take a finished ticket back to an earlier state.
    if (mine && isFinalTicket(mine.state) && !isFinalTicket(ticket.state)) return
    setTicket(ticket)
  }
})
rt.on('queue.position', (push) => {
  kiosk.ticket = applyPosition(kiosk.ticket, push)
})
// The socket refused the credential: confirm over HTTP before forgetting it (a retired
// kiosk gets 401 there too); otherwise try the socket again a little later.
rt.on('unauthorized', async () => {
  if (!kiosk.credential) return
  try {
    kiosk.device = await unwrap(api.GET('/api/devices/me', { headers: authHeaders() }))
    setTimeout(() => kiosk.credential && rt.connect(kiosk.credential), 10_000)
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) revoked()
    else setTimeout(() => kiosk.credential && rt.connect(kiosk.credential), 10_000)
  }
})

// Navigation --------------------------------------------------------------------------

export function openItem(item: ServiceItem): void {
  kiosk.item = item
  kiosk.screen = 'item'
}

/** Wipe everything the last citizen saw or chose and show the attract screen. */
export function resetForNextCitizen(): void {
  kiosk.item = null
  kiosk.category = null
  kiosk.query = ''
  kiosk.ticket = null
  kiosk.busy = false
  kiosk.elderly = false
  clearBooking()
  clearFailure()
  void wipePersonalData()
  if (currentLocale() !== 'zh-CN') setLocale('zh-CN')
  kiosk.screen = kiosk.credential ? 'attract' : 'enroll'
}

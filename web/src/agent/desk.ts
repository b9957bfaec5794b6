/**
 * The agent's desk: its state as the server sees it (agent.status / agent.state), the
 * offer ringing now, and the moves the agent can make. The server is the only source of
 * truth: every move's reply (an AgentStateView) replaces the local state.
 */
import { reactive, shallowRef } from 'vue'
import { RealtimeClient } from '@/lib/realtime'
import { ApiError } from '@/lib/errors'
import type { AgentStatus, NotReadyReason, Offer, QueueProtocol, Ticket } from '@/lib/queue'

export type Notice = 'missed' | 'declined' | 'withdrawn' | null

interface DeskState {
  status: AgentStatus | null
  offer: Offer | null
  /** When the ringing offer rings out, in this browser's clock (ms). */
  offerDeadline: number
  /** The ticket just served (shown during wrap-up). */
  lastTicket: Ticket | null
  busy: boolean
  notice: Notice
  seatId: number | null
}

export const desk = reactive<DeskState>({
  status: null,
  offer: null,
  offerDeadline: 0,
  lastTicket: null,
  busy: false,
  notice: null,
  seatId: null,
})

export const rt = new RealtimeClient<QueueProtocol>()

/** Failures of moves, for the page to toast. */
export const lastError = shallowRef<{ err: unknown; at: number } | null>(null)

function fail(err: unknown): void {
  lastError.value = { err, at: Date.now() }
}

/** Take the server's view of our state; close the offer once we are no longer ringing. */
export function applyStatus(next: AgentStatus): void {
  const prev = desk.status
  if (next.ticket) desk.lastTicket = next.ticket
  desk.status = next
  if (next.state === 'offered' && next.ticket) {
    // After a reload mid-ring there was no offer event: rebuild it from the state.
    if (!desk.offer || desk.offer.ticket.id !== next.ticket.id) {
      const expires = next.ticket.offer_expires_at ?? new Date(Date.now() + 20_000).toISOString()
      desk.offer = { ticket: next.ticket, expires_at: expires, ring_seconds: 20 }
      desk.offerDeadline = Date.parse(expires)
    }
    return
  }
  if (desk.offer) {
    if (prev?.state === 'offered' && next.state === 'not_ready' && next.reason === 'missed_offer') {
      desk.notice = 'missed'
    }
    desk.offer = null
  }
}

export async function refresh(): Promise<void> {
  try {
    applyStatus(await rt.request('agent.get', {}))
  } catch (err) {
    if (!(err instanceof ApiError && err.errorId === 'connection-lost')) fail(err)
  }
}

async function move(run: () => Promise<AgentStatus>): Promise<boolean> {
  if (desk.busy) return false
  desk.busy = true
  try {
    applyStatus(await run())
    return true
  } catch (err) {
    fail(err)
    // The state may have moved under us (an offer rang out, a citizen left): re-read it.
    await refresh()
    return false
  } finally {
    desk.busy = false
  }
}

export function setReady() {
  desk.notice = null
  return move(() => rt.request('agent.state', { state: 'ready', seat_id: desk.seatId }))
}

export function pause(reason: NotReadyReason) {
  desk.notice = null
  return move(() => rt.request('agent.state', { state: 'not_ready', reason }))
}

export function signOff() {
  desk.notice = null
  return move(() => rt.request('agent.state', { state: 'offline' }))
}

export function accept() {
  const offer = desk.offer
  if (!offer) return Promise.resolve(false)
  return move(() => rt.request('offer.accept', { ticket_id: offer.ticket.id }))
}

export async function decline() {
  const offer = desk.offer
  if (!offer) return false
  const ok = await move(() => rt.request('offer.decline', { ticket_id: offer.ticket.id }))
  if (ok) desk.notice = 'declined'
  return ok
}

export function endSession() {
  const ticket = desk.status?.ticket
  if (!ticket) return Promise.resolve(false)
  return move(() => rt.request('session.end', { ticket_id: ticket.id }))
}

export function wrapUpDone() {
  return move(() => rt.request('wrap_up.done', {}))
}

rt.on('welcome', () => void refresh())
rt.on('resync', () => void refresh())
rt.on('agent.state', (data) => {
  // Supervisors' copies carry user_id and no ticket (an agent who is also a supervisor
  // gets them too): only the agent's own durable event counts.
  if (data.user_id !== undefined) return
  applyStatus(data)
})
rt.on('offer', (offer) => {
  desk.offer = offer
  desk.notice = null
  // Count down on our own clock: the two clocks may disagree by more than the ring.
  const serverLeft = Date.parse(offer.expires_at) - Date.now()
  const ring = offer.ring_seconds * 1000
  desk.offerDeadline = Date.now() + (serverLeft > 0 && serverLeft < ring ? serverLeft : ring)
})
rt.on('offer.withdrawn', ({ ticket_id }) => {
  if (desk.offer && desk.offer.ticket.id === ticket_id) {
    desk.offer = null
    desk.notice = 'withdrawn'
  }
})

export function resetDesk(): void {
  rt.disconnect()
  desk.status = null
  desk.offer = null
  desk.lastTicket = null
  desk.busy = false
  desk.notice = null
}

/**
 * The live queue over the WebSocket (docs/protocol.md §Queue): message types and views,
 * mirrored by hand from src/cloudwindow/queueing/schemas.py (WebSocket messages are not
 * in the OpenAPI document), plus small pure helpers shared by the kiosk, the agent
 * workbench and the supervisor board.
 */
import type { Protocol } from './realtime'

export type Priority = 'normal' | 'elderly' | 'disabled' | 'appointment'
export type TicketState =
  | 'queued'
  | 'offered'
  | 'in_session'
  | 'completed'
  | 'cancelled'
  | 'abandoned'
  | 'callback_requested'
  | 'expired'
export type AgentState = 'offline' | 'ready' | 'not_ready' | 'offered' | 'in_session' | 'wrap_up'
export type NotReadyReason = 'break' | 'meal' | 'training' | 'admin' | 'missed_offer' | 'declined_offer'

export const PRIORITIES = ['normal', 'elderly', 'disabled', 'appointment'] as const satisfies readonly Priority[]
export const TICKET_STATES = [
  'queued',
  'offered',
  'in_session',
  'completed',
  'cancelled',
  'abandoned',
  'callback_requested',
  'expired',
] as const satisfies readonly TicketState[]
export const AGENT_STATES = [
  'offline',
  'ready',
  'not_ready',
  'offered',
  'in_session',
  'wrap_up',
] as const satisfies readonly AgentState[]
/** Reasons an agent may pick when pausing (the other two are set by the system). */
export const PAUSE_REASONS = ['break', 'meal', 'training', 'admin'] as const satisfies readonly NotReadyReason[]
export const NOT_READY_REASONS = [
  ...PAUSE_REASONS,
  'missed_offer',
  'declined_offer',
] as const satisfies readonly NotReadyReason[]

export const FINAL_TICKET_STATES: readonly TicketState[] = [
  'completed',
  'cancelled',
  'abandoned',
  'callback_requested',
  'expired',
]

export interface AgentRef {
  id: number
  display_name: string
}

/** TicketView */
export interface Ticket {
  id: number
  number: string
  state: TicketState
  service_item_code: string
  service_item_name: string
  skill_group_code: string
  priority: Priority
  enqueued_at: string
  position: number | null
  expected_wait_seconds: number | null
  agent: AgentRef | null
  offer_expires_at: string | null
  /** Set from queue.position pushes only. */
  held?: QueueHold | null
}

/** AgentStateView (`since` is null for an agent that never signed in). */
export interface AgentStatus {
  state: AgentState
  reason: string
  since: string | null
  ticket: Ticket | null
  wrap_up_until?: string | null
  seat_id?: number | null
}

export interface Offer {
  ticket: Ticket
  expires_at: string
  ring_seconds: number
}

/** Admission: the kiosk's site has no video bandwidth for one more call right now. */
export interface QueueHold {
  reason: 'site-saturated'
  expected_seconds: number
}

export interface QueuePosition {
  ticket_id: number
  position: number
  expected_wait_seconds: number | null
  held?: QueueHold | null
}

export interface Presence {
  principal: string
  kind: string
  name: string
  online: boolean
}

export interface QueueProtocol extends Protocol {
  events: {
    'ticket.updated': { ticket: Ticket }
    'queue.position': QueuePosition
    offer: Offer
    'offer.withdrawn': { ticket_id: number }
    /** To the agent itself (durable), and to supervisors with user_id (ephemeral). */
    'agent.state': AgentStatus & { user_id?: number }
    presence: Presence
  }
  requests: {
    'ticket.take': { data: { service_item_code: string; priority: Priority }; reply: { ticket: Ticket } }
    'ticket.cancel': { data: { ticket_id: number }; reply: { ticket: Ticket } }
    'ticket.callback': { data: { ticket_id: number }; reply: { ticket: Ticket } }
    'ticket.get': { data: Record<string, never>; reply: { ticket: Ticket | null } }
    'agent.state': {
      data: { state: 'ready' | 'not_ready' | 'offline'; reason?: NotReadyReason | null; seat_id?: number | null }
      reply: AgentStatus
    }
    'agent.get': { data: Record<string, never>; reply: AgentStatus }
    'offer.accept': { data: { ticket_id: number }; reply: AgentStatus }
    'offer.decline': { data: { ticket_id: number }; reply: AgentStatus }
    'session.end': { data: { ticket_id: number }; reply: AgentStatus }
    'wrap_up.done': { data: Record<string, never>; reply: AgentStatus }
  }
}

// ---------------------------------------------------------------------------------------
// Pure helpers

export function isFinalTicket(state: string | null | undefined): boolean {
  return !!state && (FINAL_TICKET_STATES as readonly string[]).includes(state)
}

/** Whole seconds from `from` to `to` (ISO strings or epoch ms), never negative. */
export function secondsBetween(from: string | number | null | undefined, to: string | number): number {
  if (from === null || from === undefined) return 0
  const a = typeof from === 'number' ? from : Date.parse(from)
  const b = typeof to === 'number' ? to : Date.parse(to)
  if (!Number.isFinite(a) || !Number.isFinite(b)) return 0
  return Math.max(0, Math.floor((b - a) / 1000))
}

/** Seconds left until `iso` at `now` (epoch ms), never negative. */
export function secondsUntil(iso: string | null | undefined, now: number): number {
  if (!iso) return 0
  const t = Date.parse(iso)
  if (!Number.isFinite(t)) return 0
  return Math.max(0, Math.ceil((t - now) / 1000))
}

/** 75 → "01:15"; 3725 → "1:02:05". */
export function formatDuration(seconds: number | null | undefined): string {
  const s = Math.max(0, Math.floor(Number(seconds) || 0))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const mm = String(m).padStart(2, '0')
  const ss = String(sec).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

/** Expected wait in whole minutes for the citizen (at least 1), or null when unknown. */
export function waitMinutes(expectedWaitSeconds: number | null | undefined): number | null {
  if (expectedWaitSeconds === null || expectedWaitSeconds === undefined) return null
  if (!Number.isFinite(expectedWaitSeconds) || expectedWaitSeconds < 0) return null
  return Math.max(1, Math.ceil(expectedWaitSeconds / 60))
}

/** How many are ahead of a 1-based queue position. */
export function peopleAhead(position: number | null | undefined): number {
  return position && position > 0 ? position - 1 : 0
}

/** Apply a queue.position push to the ticket it is about (other tickets unchanged). */
export function applyPosition(ticket: Ticket | null, push: QueuePosition): Ticket | null {
  if (!ticket || ticket.id !== push.ticket_id) return ticket
  return {
    ...ticket,
    position: push.position,
    expected_wait_seconds: push.expected_wait_seconds,
    held: push.held ?? null,
  }
}

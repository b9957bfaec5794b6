/**
 * Consult transfer, callbacks and appointments over the WebSocket and REST
 * (docs/protocol.md §Consult, §Callbacks, §Appointments), mirrored by hand from
 * src/cloudwindow/queueing/{consult,callbacks,appointments}.py.
 */
import type { Protocol, RealtimeClient } from './realtime'
import type { AgentRef, AgentStatus, QueueProtocol, Ticket } from './queue'
import { ApiError, type ErrorBody } from './errors'

export type ConsultState = 'ringing' | 'accepted' | 'declined' | 'rang_out' | 'cancelled' | 'completed'
export type CallbackState = 'requested' | 'claimed' | 'done' | 'no_answer' | 'unreachable' | 'cancelled'

export interface Consult {
  id: number
  state: ConsultState
  note: string
  ticket: Ticket
  from_agent: AgentRef
  to_agent: AgentRef
  created_at: string
  expires_at: string
  ring_seconds: number
  answered_at: string | null
  ended_at: string | null
  end_reason: string
}

export interface ConsultCandidate {
  id: number
  display_name: string
  skill_groups: string[]
}

export interface CallbackItem {
  id: number
  state: CallbackState
  skill_group_code: string
  skill_group_name: string
  service_item_code: string
  service_item_name: string
  ticket_number: string | null
  phone_masked: string
  preferred_start: string | null
  preferred_end: string | null
  attempts: number
  max_attempts: number
  claimed_by: AgentRef | null
  claimed_at: string | null
  last_attempt_at: string | null
  note: string
  created_at: string
  closed_at: string | null
}

export interface Slot {
  start: string
  end: string
  capacity: number
  booked: number
  available: number
}

export interface AppointmentSlots {
  service_item_code: string
  service_item_name: string
  skill_group_code: string
  slot_minutes: number
  days: { date: string; slots: Slot[] }[]
}

export interface Appointment {
  id: number
  code: string
  state: string
  service_item_code: string
  service_item_name: string
  skill_group_code: string
  slot_start: string
  slot_end: string
  phone_masked: string
  ticket_id: number | null
  created_at: string
}

export interface BookingsProtocol extends Protocol {
  events: QueueProtocol['events'] & {
    'consult.offer': { consult: Consult }
    'consult.updated': { consult: Consult }
    'callback.changed': { callback_id: number; skill_group_code: string }
  }
  requests: QueueProtocol['requests'] & {
    'ticket.callback': {
      data: { ticket_id: number; phone: string; preferred_start?: string; preferred_end?: string }
      reply: { ticket: Ticket | null; callback: CallbackItem }
    }
    'callback.request': {
      data: { service_item_code: string; phone: string; preferred_start?: string; preferred_end?: string }
      reply: { callback: CallbackItem }
    }
    'appointment.slots': { data: { service_item_code: string }; reply: AppointmentSlots }
    'appointment.book': {
      data: { service_item_code: string; slot_start: string; phone: string; request_id?: string }
      reply: { appointment: Appointment }
    }
    'appointment.lookup': { data: { code: string }; reply: { appointment: Appointment } }
    'ticket.take': {
      data: { service_item_code: string; priority: string; appointment_code?: string }
      reply: { ticket: Ticket }
    }
    'consult.candidates': { data: Record<string, never>; reply: { agents: ConsultCandidate[] } }
    'consult.get': { data: Record<string, never>; reply: { consult: Consult | null } }
    'consult.start': { data: { ticket_id: number; agent_id: number; note: string }; reply: { consult: Consult } }
    'consult.accept': { data: { consult_id: number }; reply: { consult: Consult } }
    'consult.decline': { data: { consult_id: number }; reply: { consult: Consult } }
    'consult.cancel': { data: { consult_id: number }; reply: { consult: Consult } }
    'consult.complete': { data: { consult_id: number }; reply: AgentStatus }
  }
}

/** The page's queue client, seen with the messages of this module too. */
export function withBookings(rt: RealtimeClient<QueueProtocol>): RealtimeClient<BookingsProtocol> {
  return rt as unknown as RealtimeClient<BookingsProtocol>
}

/** A small REST call with the bearer token; failures become ApiError (stable error body). */
export async function rest<T>(token: string | null, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, { error_id: 'network', message: {}, details: {} })
  }
  const data: unknown = await res.json().catch(() => null)
  if (!res.ok) {
    const err = (data ?? { error_id: 'http-error', message: {}, details: {} }) as ErrorBody
    throw new ApiError(res.status, err)
  }
  return data as T
}

/** Keep the digits a keypad may type, at most `max`. */
export function keypadAppend(value: string, key: string, max: number): string {
  if (key === 'del') return value.slice(0, -1)
  if (key === 'clear') return ''
  if (!/^\d$/.test(key) || value.length >= max) return value
  return value + key
}

/** A phone number the server will accept (mobile 1[3-9]… 11 digits, or 0… landline). */
export function phoneLooksValid(digits: string): boolean {
  return /^(1[3-9]\d{9}|0\d{9,11})$/.test(digits)
}

/** "13812345678" → "138 1234 5678" for reading back while typing. */
export function groupPhone(digits: string): string {
  if (digits.startsWith('1')) return [digits.slice(0, 3), digits.slice(3, 7), digits.slice(7)].filter(Boolean).join(' ')
  return digits
}

/** "HH:MM" of an ISO time in China time (the kiosk's wall clock). */
export function chinaTime(iso: string): string {
  return new Date(iso).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false })
}

/**
 * The kiosk's callback and appointment flows (docs/protocol.md §Callbacks, §Appointments):
 * what the citizen is doing in them, wiped with everything else by resetForNextCitizen().
 */
import { reactive } from 'vue'
import { ApiError } from '@/lib/errors'
import { withBookings, type Appointment, type CallbackItem } from '@/lib/bookings'
import { kiosk, rt } from './store'

/** The kiosk's socket with the booking messages typed (called late: store.ts imports
 * this module, so `rt` is not initialised yet while this one is evaluated). */
export function brt(): ReturnType<typeof withBookings> {
  return withBookings(rt)
}

interface BookingState {
  /** Shown when ticket.take said the group is closed: when it opens again. */
  closedUntil: string | null
  /** The appointment just booked, or found by its code. */
  appointment: Appointment | null
  /** The callback just requested. */
  callback: CallbackItem | null
}

export const booking = reactive<BookingState>({ closedUntil: null, appointment: null, callback: null })

/** ticket.take refused because the group is closed: offer an appointment or a callback. */
export function offerAlternatives(err: unknown): boolean {
  if (!(err instanceof ApiError) || err.errorId !== 'outside-business-hours') return false
  const next = err.details.next_open
  booking.closedUntil = typeof next === 'string' ? next : ''
  kiosk.screen = 'appointment'
  return true
}

export function clearBooking(): void {
  booking.closedUntil = null
  booking.appointment = null
  booking.callback = null
}

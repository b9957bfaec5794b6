/**
 * Values of the closed vocabularies, in display order. Labels live in the i18n files
 * under enums.<group>.<value>. Each list is checked at compile time against the enum in
 * the generated API schema, so `npm run gen:api` after a backend change flags drift here.
 * Languages are an open list (BCP 47 tags): that select also accepts typed values.
 */
import type { components } from './api-schema'

type S = components['schemas']
/** Compile-time proof that a list holds exactly the members of a schema enum. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
function exactly<E extends string>() {
  return <const L extends readonly E[]>(list: L & (Same<L[number], E> extends true ? unknown : never)) => list
}

export const REGION_LEVELS = exactly<S['RegionLevel']>()(['city', 'district', 'town', 'village'])
export const ITEM_TYPES = exactly<S['ItemType']>()([
  'administrative_license',
  'administrative_confirmation',
  'administrative_payment',
  'administrative_ruling',
  'administrative_award',
  'other_administrative',
  'public_service',
])
export const AUDIENCES = exactly<S['Audience']>()(['individual', 'legal_person'])
export const MATERIAL_FORMS = exactly<S['MaterialForm']>()(['original', 'copy', 'electronic', 'original_and_copy'])
export const SITE_TYPES = exactly<S['SiteType']>()([
  'service_hall',
  'village',
  'industrial_park',
  'mall',
  'metro_station',
  'agent_office',
])
export const TERMINAL_MODELS = exactly<S['TerminalModel']>()(['basic', 'extended'])
export const TERMINAL_STATUSES = exactly<S['TerminalStatus']>()(['unenrolled', 'active', 'maintenance', 'retired'])
export const ROLES = exactly<S['Role']>()(['administrator', 'supervisor', 'agent', 'approver', 'auditor'])
export const PERIPHERALS = exactly<S['Peripheral']>()([
  'id_card_reader',
  'document_camera',
  'printer',
  'signature_pad',
  'fingerprint_reader',
  'face_camera',
  'receipt_printer',
  'card_issuer',
])
export const SEAT_EQUIPMENT = exactly<S['SeatEquipment']>()([
  'pc',
  'monitor',
  'headset',
  'camera',
  'fill_light',
  'document_scanner',
])
export const LANGUAGES = ['zh-CN', 'yue', 'hak', 'en'] as const

/** Tag colour per terminal status (Element Plus tag types). */
export const TERMINAL_STATUS_TAG: Record<string, 'info' | 'success' | 'warning' | 'danger'> = {
  unenrolled: 'info',
  active: 'success',
  maintenance: 'warning',
  retired: 'danger',
}

/**
 * Identity verification (人证比对) — docs/identity.md, events in docs/protocol.md §Identity.
 *
 * Kiosk (device credential):
 *   await postIdCard(card, credential)                  // after the bridge read the card
 *   const text = await consentText('face_check', credential)
 *   await postConsent('face_check', true, text.version, credential)
 *   const check = await postFaceCheck(jpegBlob, credential)
 * Agent (signed in):
 *   const state = await identityState()
 *   await requestFaceCheck(); await overrideFaceCheck(id, reason); await fillCaseFromCard()
 *   const url = await identityPhotoUrl('card', readId)   // object URL; revoke it when done
 *
 * Personal data arrives masked only; the photos are audited reads.
 */
import { toApiError } from './errors'
import { currentToken } from './session'

export type ConsentPurpose = 'face_check' | 'licence_fetch'
export type FaceOutcome = 'match' | 'mismatch' | 'no_face' | 'multiple_faces' | 'no_id_card' | 'no_consent'

export interface IdCardRead {
  id: number
  ticket_id: number
  name_masked: string
  id_number_masked: string
  /** null: 长期 */
  valid_until: string | null
  expired: boolean
  created_at: string
}

export interface ConsentText {
  purpose: ConsentPurpose
  version: string
  title_zh: string
  title_en: string
  points_zh: string[]
  points_en: string[]
}

export interface Consent {
  id: number
  ticket_id: number
  purpose: ConsentPurpose
  granted: boolean
  text_version: string
  created_at: string
}

export interface FaceCheck {
  id: number
  ticket_id: number
  case_id: number | null
  id_card_read_id: number | null
  outcome: FaceOutcome
  side: 'live' | 'portrait' | null
  score: number | null
  threshold: number
  card_expired: boolean
  has_live_photo: boolean
  overridden: boolean
  override_reason: string | null
  overridden_at: string | null
  verified: boolean
  elapsed_ms: number
  created_at: string
}

export interface IdentityState {
  ticket_id: number
  id_card: IdCardRead | null
  consents: Partial<Record<ConsentPurpose, Consent>>
  face_check: FaceCheck | null
  verified: boolean
}

/** `identity.face_check_requested` (to the kiosk). */
export interface FaceCheckRequested {
  ticket_id: number
  consent_needed: boolean
  consent: ConsentText
  requested_by: string
}

/** What an ID-card reader gives (docs/bridge.md §id_reader); the photo as base64. */
export interface IdCardFields {
  name: string
  sex: '男' | '女'
  ethnicity: string
  birth_date: string
  address: string
  id_number: string
  issuer: string
  valid_from: string
  valid_until: string
  photo: string
}

/** Outcomes the citizen can fix by taking the still again. */
export const RETAKE_OUTCOMES: readonly FaceOutcome[] = ['no_face', 'multiple_faces', 'mismatch']

async function call<T>(url: string, token: string | null, init: RequestInit = {}, json = true): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token ?? ''}` }
  if (init.body && json) headers['Content-Type'] = 'application/json'
  const res = await fetch(url, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } })
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) throw toApiError(res.status, body, res.headers.get('Retry-After'))
  return body as T
}

// Kiosk -------------------------------------------------------------------------------------
export function postIdCard(card: IdCardFields, credential: string): Promise<IdCardRead & { birth_date: string }> {
  return call('/api/kiosk/identity/id-card', credential, { method: 'POST', body: JSON.stringify(card) })
}

export function consentText(purpose: ConsentPurpose, credential: string): Promise<ConsentText> {
  return call(`/api/kiosk/identity/consent-texts/${purpose}`, credential)
}

export function postConsent(purpose: ConsentPurpose, granted: boolean, textVersion: string | null, credential: string): Promise<Consent> {
  const body = { purpose, granted, ...(textVersion ? { text_version: textVersion } : {}) }
  return call('/api/kiosk/identity/consents', credential, { method: 'POST', body: JSON.stringify(body) })
}

export function postFaceCheck(still: Blob, credential: string): Promise<FaceCheck> {
  return call(
    '/api/kiosk/identity/face-checks',
    credential,
    { method: 'POST', body: still, headers: { 'Content-Type': still.type || 'image/jpeg' } },
    false,
  )
}

// Agent -------------------------------------------------------------------------------------
export function identityState(): Promise<IdentityState> {
  return call('/api/desk/identity', currentToken())
}

export function requestFaceCheck(): Promise<FaceCheckRequested> {
  return call('/api/desk/identity/face-check-requests', currentToken(), { method: 'POST' })
}

export function overrideFaceCheck(checkId: number, reason: string): Promise<FaceCheck> {
  return call(`/api/desk/identity/face-checks/${checkId}/override`, currentToken(), {
    method: 'POST',
    body: JSON.stringify({ reason }),
  })
}

export function fillCaseFromCard(caseId?: number): Promise<{ case_id: number; filled: string[] }> {
  return call('/api/desk/identity/fill-case', currentToken(), {
    method: 'POST',
    body: JSON.stringify(caseId ? { case_id: caseId } : {}),
  })
}

/** An object URL of a photo (the request needs the bearer token; each fetch is audited). */
export async function identityPhotoUrl(kind: 'card' | 'live', id: number): Promise<string> {
  const url = kind === 'card' ? `/api/desk/identity/id-card-reads/${id}/photo` : `/api/desk/identity/face-checks/${id}/photo`
  const res = await fetch(url, { headers: { Authorization: `Bearer ${currentToken() ?? ''}` } })
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null), null)
  return URL.createObjectURL(await res.blob())
}

// Camera ------------------------------------------------------------------------------------
/** The still's size: the video frame cropped to 4:3 around its centre, at most 640×480. */
export function stillSize(videoWidth: number, videoHeight: number): { sx: number; sy: number; sw: number; sh: number; width: number; height: number } {
  const aspect = 4 / 3
  let sw = videoWidth
  let sh = videoHeight
  if (sw / sh > aspect) sw = Math.round(sh * aspect)
  else sh = Math.round(sw / aspect)
  const scale = Math.min(1, 640 / sw)
  return {
    sx: Math.round((videoWidth - sw) / 2),
    sy: Math.round((videoHeight - sh) / 2),
    sw,
    sh,
    width: Math.round(sw * scale),
    height: Math.round(sh * scale),
  }
}

/** The current frame of a playing <video> as a JPEG (4:3, at most 640×480). */
export async function captureStill(video: HTMLVideoElement): Promise<Blob> {
  const s = stillSize(video.videoWidth, video.videoHeight)
  const canvas = document.createElement('canvas')
  canvas.width = s.width
  canvas.height = s.height
  const ctx = canvas.getContext('2d')
  if (!ctx || !s.width) throw new Error('camera not ready')
  ctx.drawImage(video, s.sx, s.sy, s.sw, s.sh, 0, 0, s.width, s.height)
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no still'))), 'image/jpeg', 0.9),
  )
}

/**
 * Electronic licences (电子证照, 免证办) for the agent's case panel — docs/licences.md.
 *
 *   await requestLicenceConsent(caseId)          // the kiosk shows the consent screen
 *   const list = await listCaseLicences(caseId)  // 403 licence-consent-required until "yes"
 *   await useLicence(caseId, 'M02', list.licences[0].id)
 *
 * The agent learns the citizen's answer from `identity.consent_recorded` (purpose
 * `licence_fetch`); personal data arrives masked only.
 */
import { toApiError } from './errors'
import { currentToken } from './session'
import type { CaseMaterial } from './caseAssist'

export type LicenceStatus = 'valid' | 'expired' | 'revoked'

/** What a case material keeps of the licence it came from (`MaterialView.licence`). */
export interface MaterialLicence {
  id: string
  type_code: string
  type_name: string
  number_masked: string
  holder_name_masked: string
  issuer: string
  issued_on: string
  valid_until: string | null
  provider: string
}

export interface CaseLicence {
  id: string
  type_code: string
  type_name: string
  holder_name_masked: string
  holder_id_masked: string
  number_masked: string
  issuer: string
  issued_on: string
  /** null: 长期 (no expiry) */
  valid_until: string | null
  status: LicenceStatus
  source: 'local' | 'provincial'
  content_type: string
  size: number
  sha256: string
  /** The case's material codes this licence can satisfy (empty when expired / revoked). */
  usable_for: string[]
}

export interface CaseLicences {
  case_id: number
  holder_id_masked: string
  holder_from: 'identity' | 'application'
  provider: 'local' | 'http'
  licences: CaseLicence[]
}

/** `identity.consent_recorded` (identity's event to the agent). */
export interface ConsentRecorded {
  ticket_id: number
  consent: { purpose: string; granted: boolean }
}

async function send<T>(url: string, init: RequestInit = {}, fetchImpl: typeof fetch = fetch): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${currentToken() ?? ''}` }
  if (init.body) headers['Content-Type'] = 'application/json'
  const res = await fetchImpl(url, { ...init, headers })
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) throw toApiError(res.status, body, res.headers.get('Retry-After'))
  return body as T
}

export function requestLicenceConsent(caseId: number, fetchImpl?: typeof fetch): Promise<{ case_id: number; materials: string[] }> {
  return send(`/api/desk/cases/${caseId}/licence-consent-requests`, { method: 'POST' }, fetchImpl)
}

export function listCaseLicences(caseId: number, fetchImpl?: typeof fetch): Promise<CaseLicences> {
  return send(`/api/desk/cases/${caseId}/licences`, {}, fetchImpl)
}

export function useLicence(caseId: number, materialCode: string, licenceId: string, fetchImpl?: typeof fetch): Promise<CaseMaterial> {
  return send(
    `/api/desk/cases/${caseId}/materials/${encodeURIComponent(materialCode)}/licence`,
    { method: 'POST', body: JSON.stringify({ licence_id: licenceId }) },
    fetchImpl,
  )
}

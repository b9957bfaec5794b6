/**
 * 申请人签名 (src/cloudwindow/cases/signature.py): the agent attaches the signature the citizen gave
 * on the kiosk's pad to the case open in the session; supervisors view it (each view is
 * audited, so the image is fetched only when asked for).
 *
 * Agent:      sessionCases(ticketId); attachSignature(caseId, commandId)
 * Supervisor: signatureObjectUrl(caseId)
 */
import { api, unwrap, type Schemas } from './api'
import { toApiError } from './errors'
import { currentToken } from './session'

export type SignatureView = Schemas['SignatureView']
export type SessionCase = Schemas['SessionCase']

/** The cases of a session the agent serves, newest first, with their signature. */
export async function sessionCases(ticketId: number): Promise<SessionCase[]> {
  const page = await unwrap(api.GET('/api/desk/tickets/{ticket_id}/cases', { params: { path: { ticket_id: ticketId } } }))
  return page.cases
}

/** The signature of a finished `signature_pad.capture` becomes the case's (replacing one). */
export function attachSignature(caseId: number, commandId: string): Promise<SignatureView> {
  return unwrap(
    api.POST('/api/desk/cases/{case_id}/signature', {
      params: { path: { case_id: caseId } },
      body: { command_id: commandId },
    }),
  )
}

/** The case's signature as an object URL for `<img>` (audited read; revoke it when done). */
export async function signatureObjectUrl(caseId: number, fetchImpl: typeof fetch = (i, init) => fetch(i, init)): Promise<string> {
  const res = await fetchImpl(`/api/cases/${caseId}/signature`, {
    headers: { Authorization: `Bearer ${currentToken() ?? ''}` },
  })
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null), res.headers.get('Retry-After'))
  return URL.createObjectURL(await res.blob())
}

/** The history's latest attach of a signature (a replaced one has a newer line), or null. */
export function latestSignatureEvent<E extends { kind: string }>(events: readonly E[]): E | null {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].kind === 'signature') return events[i]
  return null
}

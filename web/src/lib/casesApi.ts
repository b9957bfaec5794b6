/**
 * Cases (办件) over HTTP for the screens: the agent's case panel, the kiosk's review
 * screen, the approver's and supervisor's console pages and the public case lookup.
 * Shapes mirrored by hand from docs/cases.md §HTTP API (src/cloudwindow/cases/schemas.py);
 * the live co-editing of the form is `caseAssist.ts` (WebSocket), not here.
 */
import { rest } from './bookings'
import { currentToken } from './session'
import type { LocalizedText } from './errors'
import type { MaterialLicence } from './licences'

export type CaseState =
  | 'draft'
  | 'accepted'
  | 'under_approval'
  | 'concluded'
  | 'rejected'
  | 'returned'
  | 'resubmitted'
  | 'withdrawn'

export const CASE_STATES: readonly CaseState[] = [
  'draft',
  'accepted',
  'under_approval',
  'returned',
  'resubmitted',
  'concluded',
  'rejected',
  'withdrawn',
]

export type MaterialStatus = 'missing' | 'pending' | 'accepted' | 'rejected'
export type Decision = 'approve' | 'reject' | 'return'

export interface ItemRef {
  code: string
  name: string
  department_code: string
  department_name: string
}
export interface UserRef {
  id: number
  display_name: string
}
export interface StepRef {
  step: number
  name: string
  department_code: string
  department_name: string
}
export interface RequiredMaterialView {
  code: string
  name: string
  required: boolean
  note: string
  status: MaterialStatus
}
export interface MaterialView {
  id: number
  material_code: string
  name: string
  source: string
  content_type: string
  size: number
  sha256: string
  status: 'pending' | 'accepted' | 'rejected'
  reason: string
  added_by: string
  decided_at: string | null
  created_at: string
  /** Source `licence`: the electronic licence it came from (docs/licences.md). */
  licence?: MaterialLicence | null
}
export interface ApprovalView {
  id: number
  round: number
  step: number
  name: string
  department_code: string
  state: string
  decided_by: UserRef | null
  decided_at: string | null
  reason: string
  missing: string[]
}
export interface EventView {
  id: number
  kind: string
  from_state: string
  to_state: string
  actor: string
  actor_name: string
  reason: string
  details: Record<string, unknown>
  at: string
}
export interface NotificationView {
  id: number
  kind: string
  channel: string
  phone_masked: string
  text: string
  state: string
  sent_at: string | null
  attempts: number
  error: string
  next_attempt_at: string | null
}
export interface FieldProblem {
  field: string
  error_id: string
  message: LocalizedText
}
export interface Correction {
  reason: string
  missing: string[]
  at?: string | null
}
export interface Receipt {
  title: string
  lines: string[]
  text: string
}

/** `CaseRow`: list rows. */
export interface CaseRow {
  id: number
  number: string
  state: CaseState
  state_label: LocalizedText
  service_item: ItemRef
  applicant_masked: string
  phone_masked: string
  agent: UserRef | null
  round: number
  current_step: StepRef | null
  /** Approver lists: the step to decide. */
  approval_id?: number | null
  promised_days: number
  accepted_at: string | null
  due_date: string | null
  working_days_left: number | null
  overdue: boolean
  due_soon: boolean
  created_at: string
  updated_at: string
}

/** `CaseView`: one case (detail fields are empty lists on lighter views). */
export interface CaseView extends CaseRow {
  form_version_id: number
  form: { id: number; version: number; schema: Record<string, unknown>; layout: Record<string, unknown> } | null
  data: Record<string, unknown>
  data_clear: boolean
  rev: number
  field_revs: Record<string, number>
  confirmed_rev: number | null
  confirmed_at: string | null
  confirmed: boolean
  validation: FieldProblem[]
  ticket_id: number | null
  ticket_number: string | null
  required_materials: RequiredMaterialView[]
  materials: MaterialView[]
  can_accept: boolean
  accept_blockers: string[]
  approvals: ApprovalView[]
  correction: Correction | null
  outcome_reason: string
  concluded_at: string | null
  events: EventView[]
  notifications: NotificationView[]
  recordings: { id: number; state: string; started_at: string }[]
  receipt: Receipt | null
  version: number
}

export interface Page<T> {
  items: T[]
  total: number
  page: number
  page_size: number
}

export interface CaseMetrics {
  by_state: Record<string, number>
  running: number
  overdue: number
  due_soon: number
  accepted_today: number
  concluded_today: number
  returned_open: number
}

/** `POST /api/case-lookup`: what anyone holding the number and the phone may see. */
export interface LookupResult {
  number: string
  state: CaseState
  state_label: LocalizedText
  service_item_name: string
  department_name: string
  accepted_at: string | null
  due_date: string | null
  working_days_left: number | null
  overdue: boolean
  concluded_at: string | null
  correction: Correction | null
  outcome_reason: string
  history: { state: string; state_label: LocalizedText; at: string }[]
}

type Query = Record<string, string | number | boolean | null | undefined>

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v))
  }
  const qs = params.toString()
  return qs ? `${path}?${qs}` : path
}

const user = <T>(method: string, path: string, body?: unknown) => rest<T>(currentToken(), method, path, body)

/** The agent's calls (permission `case.work`). */
export const deskCases = {
  open: (ticketId: number, serviceItemCode?: string) =>
    user<CaseView>('POST', '/api/desk/cases', {
      ticket_id: ticketId,
      ...(serviceItemCode ? { service_item_code: serviceItemCode } : {}),
    }),
  list: (query: Query = {}) => user<Page<CaseRow>>('GET', withQuery('/api/desk/cases', query)),
  get: (id: number) => user<CaseView>('GET', `/api/desk/cases/${id}`),
  accept: (id: number) => user<CaseView>('POST', `/api/desk/cases/${id}/accept`, {}),
  withdraw: (id: number, reason: string) => user<CaseView>('POST', `/api/desk/cases/${id}/withdraw`, { reason }),
  resubmit: (id: number, note = '') => user<CaseView>('POST', `/api/desk/cases/${id}/resubmit`, { note }),
}

/** Who reads a material's file (each read audited): the agent, an approver, a supervisor. */
export type MaterialScope = 'desk/cases' | 'approvals' | 'cases'

/** The approver's calls (permission `case.approve`). */
export const approvals = {
  list: (query: Query = {}) => user<Page<CaseRow>>('GET', withQuery('/api/approvals', query)),
  get: (caseId: number) => user<CaseView>('GET', `/api/approvals/${caseId}`),
  decide: (caseId: number, body: { approval_id: number; decision: Decision; reason?: string; missing?: string[] }) =>
    user<CaseView>('POST', `/api/approvals/${caseId}/decision`, body),
}

/** Supervisors, administrators, auditors (permission `case.read`): masked views. */
export const supervisedCases = {
  list: (query: Query = {}) => user<Page<CaseRow>>('GET', withQuery('/api/cases', query)),
  get: (id: number) => user<CaseView>('GET', `/api/cases/${id}`),
  metrics: () => user<CaseMetrics>('GET', '/api/cases/metrics'),
}

/** The kiosk's cases of its ticket in session (device credential). */
export function kioskCases(credential: string | null): Promise<{ cases: CaseView[] }> {
  return rest<{ cases: CaseView[] }>(credential, 'GET', '/api/kiosk/cases')
}

/** 办件查询, public: number + phone. A wrong phone and an unknown number look the same. */
export function lookupCase(number: string, phone: string): Promise<LookupResult> {
  return rest<LookupResult>(null, 'POST', '/api/case-lookup', { number, phone })
}

// Pure helpers ------------------------------------------------------------------------------

/** Case states after which nothing more happens. */
export const FINAL_CASE_STATES: readonly CaseState[] = ['concluded', 'rejected', 'withdrawn']

/** The tag colour of a state (Element Plus tag types; the kiosk maps them to its own). */
export function stateTone(state: string): 'info' | 'primary' | 'success' | 'warning' | 'danger' {
  switch (state) {
    case 'concluded':
      return 'success'
    case 'rejected':
      return 'danger'
    case 'returned':
      return 'warning'
    case 'withdrawn':
    case 'draft':
      return 'info'
    default:
      return 'primary'
  }
}

/** The label of a state in the UI locale (server labels; the raw state as a last resort). */
export function stateText(label: LocalizedText | undefined, locale: string, state: string): string {
  return label?.[locale] ?? label?.['zh-CN'] ?? state
}

/** Normalise what a citizen types as a case number: `cw 20261127 000042` → `CW20261127-000042`. */
export function normaliseCaseNumber(raw: string): string {
  const compact = raw.toUpperCase().replace(/[^0-9A-Z]/g, '')
  const digits = compact.startsWith('CW') ? compact.slice(2) : compact
  if (!/^\d+$/.test(digits)) return compact
  return digits.length > 8 ? `CW${digits.slice(0, 8)}-${digits.slice(8)}` : `CW${digits}`
}

/** "2026-12-04" as the date a citizen reads: 2026年12月04日 / 2026-12-04. */
export function formatDay(day: string | null | undefined, locale: string): string {
  if (!day) return '—'
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day)
  if (!m) return day
  return locale === 'zh-CN' ? `${m[1]}年${m[2]}月${m[3]}日` : `${m[1]}-${m[2]}-${m[3]}`
}

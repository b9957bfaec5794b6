/**
 * Remote assistance (远程帮办): the case form shared live between the agent's console and
 * the citizen's kiosk (docs/protocol.md §Remote assistance). One class for both ends:
 *
 *   const assist = new CaseAssist(assistTransport(rt))          // agent
 *   const assist = new CaseAssist(assistTransport(rt), { follow: true })  // kiosk
 *   await assist.join(caseId)          // kiosk: join() finds the case of its session,
 *                                      // and `follow` joins the one the agent opens
 *   assist.edit('name', '张三')         // every keystroke; the other side sees it at once
 *   assist.state.values.name           // reactive: what the input shows
 *   assist.state.conflicts.name        // the other side changed it first: show both
 *   await assist.confirm()             // kiosk: the citizen confirms what they see
 *
 * How edits travel: each field has at most one edit in flight. Typing while it travels
 * only replaces the *queued* value, which is sent (based on the new revision) when the
 * reply comes back — so a fast typist sends one message per round trip, and the other
 * side still sees the text grow. An edit based on an old revision of the field loses
 * (`case.field_conflict`): the field shows the winner's value and `conflicts[field]`
 * keeps what this side typed, for the UI to offer ("用我的" → `keepMine`). After a
 * reconnect the page re-joins (a fresh snapshot) and resends unacknowledged edits with
 * their *original* base revision, so an edit that did land is not applied twice and one
 * that raced a change of the other side is reported, never silently overwriting it.
 */
import { reactive } from 'vue'
import type { LooseProtocol, Protocol, RealtimeClient } from './realtime'
import { RealtimeError } from './realtime'
import type { ErrorBody } from './errors'
import { piiOfFormat } from './forms/model'

export type Side = 'agent' | 'kiosk'
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** The form a case was filed with (its JSON Schema and layout hint never change). */
export interface CaseForm {
  form_version_id: number
  version: number
  schema: Record<string, unknown>
  layout: Record<string, unknown>
}

export interface RequiredMaterial {
  code: string
  name: string
  required: boolean
  note?: string
}

export type MaterialStatus = 'pending' | 'accepted' | 'rejected'

/** MaterialOut (src/cloudwindow/cases/materials.py): docs/cases.md MaterialView + case and pixels. */
export interface CaseMaterial {
  id: number
  case_id: number
  material_code: string
  name: string
  source: 'capture' | 'upload' | 'licence'
  content_type: string
  size: number
  sha256: string
  width: number | null
  height: number | null
  status: MaterialStatus
  reason: string
  /** `user:5` (the agent's upload) or `device:3` (the kiosk's capture). */
  added_by: string
  created_at: string
  decided_at: string | null
}

/** `case.snapshot`: everything a side needs to show the shared form. */
export interface CaseSnapshot {
  case_id: number
  number: string
  state: string
  service_item_code: string
  service_item_name: string
  ticket_id: number | null
  side: Side
  editable: boolean
  form: CaseForm
  values: Record<string, JsonValue>
  field_revs: Record<string, number>
  rev: number
  confirmed_rev: number | null
  confirmed_at: string | null
  required_materials: RequiredMaterial[]
  materials: CaseMaterial[]
}

export interface FieldChanged {
  case_id: number
  field: string
  value: JsonValue
  rev: number
  by: Side
  /** Null once any edit followed the citizen's confirmation. */
  confirmed_rev: number | null
}

export interface FieldConflict {
  case_id: number
  field: string
  /** What the field holds now, at revision `rev`. */
  value: JsonValue
  rev: number
  base_rev: number
  attempted: JsonValue
}

export interface FieldAck {
  case_id: number
  field: string
  value: JsonValue
  rev: number
  outcome: 'applied' | 'unchanged'
}

export interface Confirmed {
  case_id: number
  rev: number
  confirmed_at: string | null
}

/** `case.updated` (docs/cases.md): a state move, a confirmation, or data changed over HTTP. */
export interface CaseUpdated {
  case_id: number
  number: string
  state: string
  rev: number
  confirmed_rev: number | null
  version: number
}

export interface CaptureRequested {
  case_id: number
  material_code: string
  name: string
  /** Framing guide for the kiosk: the document's aspect ratio (width / height) and what to put there. */
  guide: { aspect_ratio: number; hint_zh: string; hint_en: string }
  requested_by: string
}

export interface MaterialEvent {
  case_id: number
  material: CaseMaterial
}

export interface AssistEvents {
  'case.field.changed': FieldChanged
  'case.field_conflict': FieldConflict
  'case.updated': CaseUpdated
  'case.material.capture_requested': CaptureRequested
  'case.material.added': MaterialEvent
  'case.material.decided': MaterialEvent
}

export interface AssistRequests {
  'case.join': { data: { case_id?: number }; reply: CaseSnapshot }
  'case.field.set': {
    data: { case_id: number; field: string; value: JsonValue; base_rev: number }
    reply: FieldAck
  }
  'case.confirm': { data: { case_id: number; rev: number }; reply: Confirmed }
}

export interface AssistProtocol extends Protocol {
  events: AssistEvents
  requests: AssistRequests
}

/** What CaseAssist needs of the socket (the page's RealtimeClient, or a fake in tests). */
export interface AssistTransport {
  request<K extends keyof AssistRequests>(
    type: K,
    data: AssistRequests[K]['data'],
  ): Promise<AssistRequests[K]['reply']>
  on<K extends keyof AssistEvents>(type: K, handler: (data: AssistEvents[K]) => void): () => void
  /** After every (re)connect of the socket. */
  onReconnect(handler: () => void): () => void
}

/** The transport over the page's realtime client (one WebSocket per page). */
export function assistTransport<P extends Protocol>(client: RealtimeClient<P>): AssistTransport {
  const rt = client as unknown as RealtimeClient<LooseProtocol>
  return {
    request: (type, data) => rt.request(type, data as Record<string, unknown>) as never,
    on: (type, handler) => rt.on(type, handler as (d: unknown) => void),
    onReconnect: (handler) => rt.on('welcome', () => handler()),
  }
}

// ---------------------------------------------------------------------------------------
// Pure helpers

/** JSON equality that keeps types apart (`true` is not `1`), as the server compares. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a)
    const kb = Object.keys(b)
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], b[k]))
  }
  return false
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The personal-data kind of a field (`x-pii` in its schema, or implied by its format), if any. */
export function piiKind(form: CaseForm | null, field: string): string | null {
  const props = form?.schema.properties
  if (!isRecord(props)) return null
  const prop = props[field]
  if (!isRecord(prop)) return null
  return typeof prop['x-pii'] === 'string' ? (prop['x-pii'] as string) : piiOfFormat(prop.format)
}

// ---------------------------------------------------------------------------------------
// The model

export interface PendingEdit {
  /** The value in flight (sent, no reply yet). */
  sent: JsonValue
  /** The field's revision the edit in flight is based on. */
  baseRev: number
  /** The newest value typed while `sent` travelled (undefined: none). */
  queued: JsonValue | undefined
}

export interface ConflictInfo {
  /** What the other side set (the field shows it now). */
  theirs: JsonValue
  /** What this side typed, which was not saved. */
  mine: JsonValue
  rev: number
}

export interface AssistState {
  caseId: number | null
  number: string
  caseState: string
  serviceItemName: string
  side: Side | null
  editable: boolean
  form: CaseForm | null
  /** What the inputs show: the server's values with this side's unsent or travelling edits on top. */
  values: Record<string, JsonValue>
  /** The server's values (what the other side sees once pending edits land). */
  saved: Record<string, JsonValue>
  revs: Record<string, number>
  rev: number
  confirmedRev: number | null
  confirmedAt: string | null
  pending: Record<string, PendingEdit>
  conflicts: Record<string, ConflictInfo>
  requiredMaterials: RequiredMaterial[]
  materials: CaseMaterial[]
  /** The agent asked the kiosk for a capture (kiosk: show the framing guide). */
  captureRequest: CaptureRequested | null
  /** The last refused edit or confirmation (bilingual, for a toast). */
  error: ErrorBody | null
  /** Set by join(); false again after `leave()`. */
  joined: boolean
}

function emptyState(): AssistState {
  return {
    caseId: null,
    number: '',
    caseState: '',
    serviceItemName: '',
    side: null,
    editable: false,
    form: null,
    values: {},
    saved: {},
    revs: {},
    rev: 0,
    confirmedRev: null,
    confirmedAt: null,
    pending: {},
    conflicts: {},
    requiredMaterials: [],
    materials: [],
    captureRequest: null,
    error: null,
    joined: false,
  }
}

export class CaseAssist {
  readonly state: AssistState = reactive(emptyState())
  private readonly transport: AssistTransport
  private readonly offs: (() => void)[] = []
  private joining: Promise<CaseSnapshot> | null = null
  private readonly follow: boolean

  /**
   * `follow` (the kiosk): join by itself the case the agent opens in this session (told by
   * `case.updated`), and look for one after each reconnect.
   */
  constructor(transport: AssistTransport, options: { follow?: boolean } = {}) {
    this.transport = transport
    this.follow = options.follow ?? false
    this.offs.push(
      transport.on('case.field.changed', (d) => this.onChanged(d)),
      transport.on('case.field_conflict', (d) => this.onConflict(d)),
      transport.on('case.updated', (d) => this.onUpdated(d)),
      transport.on('case.material.capture_requested', (d) => {
        if (this.mine(d.case_id)) this.state.captureRequest = d
      }),
      transport.on('case.material.added', (d) => this.onMaterial(d, true)),
      transport.on('case.material.decided', (d) => this.onMaterial(d, false)),
      transport.onReconnect(() => {
        if (this.state.joined) void this.rejoin(true)
        else if (this.follow) void this.join().catch(() => undefined)
      }),
    )
  }

  /** Whether the citizen's confirmation covers the data as it is now. */
  get confirmed(): boolean {
    return this.state.confirmedRev !== null && this.state.confirmedRev === this.state.rev && !this.hasPending
  }

  /** Edits of this side not yet acknowledged by the server. */
  get hasPending(): boolean {
    return Object.keys(this.state.pending).length > 0
  }

  /**
   * Join a case's shared form (the kiosk may omit the id: the case of its session).
   * Resolves with the snapshot; rejects with the server's error (e.g. `case-not-in-session`).
   */
  async join(caseId?: number): Promise<CaseSnapshot> {
    const snap = await this.transport.request('case.join', caseId === undefined ? {} : { case_id: caseId })
    if (this.state.caseId !== snap.case_id) this.reset()
    this.applySnapshot(snap)
    this.state.joined = true
    return snap
  }

  /** Stop following the case (the session ended). */
  leave(): void {
    this.reset()
  }

  /** Stop listening to the transport (the page is going away). */
  dispose(): void {
    for (const off of this.offs.splice(0)) off()
  }

  /**
   * This side types `value` into `field`. Shown at once; sent now, or queued behind the
   * edit of the same field already travelling.
   */
  edit(field: string, value: JsonValue): void {
    const s = this.state
    if (s.caseId === null) return
    s.values[field] = value
    delete s.conflicts[field]
    const p = s.pending[field]
    if (p) {
      p.queued = value
      return
    }
    this.send(field, value, s.revs[field] ?? 0)
  }

  /** Resolve a conflict by setting this side's value again, over the winner's. */
  keepMine(field: string): void {
    const c = this.state.conflicts[field]
    if (c) this.edit(field, c.mine)
  }

  /** The kiosk dismisses the framing guide (captured, or the citizen cancelled). */
  dismissCapture(): void {
    this.state.captureRequest = null
  }

  /** Resolve a conflict by keeping the other side's value. */
  keepTheirs(field: string): void {
    delete this.state.conflicts[field]
  }

  /**
   * The citizen confirms the form as shown (kiosk). Refused while edits travel (wait for
   * them) and by the server when the data changed meanwhile (`case-confirm-stale`).
   */
  async confirm(): Promise<Confirmed> {
    const s = this.state
    if (s.caseId === null) throw new RealtimeError(localBody('case-not-joined'), 'case.confirm')
    if (this.hasPending) throw new RealtimeError(localBody('case-edits-pending'), 'case.confirm')
    try {
      const reply = await this.transport.request('case.confirm', { case_id: s.caseId, rev: s.rev })
      this.onConfirmed(reply)
      return reply
    } catch (err) {
      if (err instanceof RealtimeError) s.error = { error_id: err.errorId, message: err.messages, details: err.details }
      throw err
    }
  }

  // -------------------------------------------------------------------------------------

  private mine(caseId: number): boolean {
    return this.state.caseId === caseId
  }

  private reset(): void {
    Object.assign(this.state, emptyState())
  }

  /** A fresh snapshot; after a reconnect (`resend`) also the edits whose reply was lost. */
  private async rejoin(resend = false): Promise<void> {
    if (this.joining) return
    const caseId = this.state.caseId ?? undefined
    try {
      this.joining = this.transport.request('case.join', caseId === undefined ? {} : { case_id: caseId })
      const snap = await this.joining
      this.applySnapshot(snap)
      // Edits whose reply was lost with the socket: resend on their original base.
      if (resend) for (const [field, p] of Object.entries(this.state.pending)) {
        this.send(field, p.queued !== undefined ? p.queued : p.sent, p.baseRev)
      }
    } catch (err) {
      if (err instanceof RealtimeError) this.state.error = { error_id: err.errorId, message: err.messages, details: err.details }
    } finally {
      this.joining = null
    }
  }

  private applySnapshot(snap: CaseSnapshot): void {
    const s = this.state
    s.caseId = snap.case_id
    s.number = snap.number
    s.caseState = snap.state
    s.serviceItemName = snap.service_item_name
    s.side = snap.side
    s.editable = snap.editable
    s.form = snap.form
    s.saved = { ...snap.values }
    s.revs = { ...snap.field_revs }
    s.rev = snap.rev
    s.confirmedRev = snap.confirmed_rev
    s.confirmedAt = snap.confirmed_at
    s.requiredMaterials = snap.required_materials
    s.materials = snap.materials
    const shown: Record<string, JsonValue> = { ...snap.values }
    for (const [field, p] of Object.entries(s.pending)) shown[field] = p.queued !== undefined ? p.queued : p.sent
    s.values = shown
  }

  private send(field: string, value: JsonValue, baseRev: number): void {
    const s = this.state
    const caseId = s.caseId
    if (caseId === null) return
    s.pending[field] = { sent: value, baseRev, queued: undefined }
    this.transport.request('case.field.set', { case_id: caseId, field, value, base_rev: baseRev }).then(
      (ack) => this.onAck(caseId, ack),
      (err: unknown) => this.onSetFailed(caseId, field, value, err),
    )
  }

  private onAck(caseId: number, ack: FieldAck): void {
    if (!this.mine(caseId)) return
    this.store(ack.field, ack.value, ack.rev)
    const s = this.state
    const p = s.pending[ack.field]
    if (!p) return
    if (p.queued !== undefined && !sameValue(p.queued, ack.value)) {
      this.send(ack.field, p.queued, ack.rev)
      return
    }
    delete s.pending[ack.field]
    s.values[ack.field] = ack.value
  }

  private onSetFailed(caseId: number, field: string, value: JsonValue, err: unknown): void {
    if (!this.mine(caseId)) return
    const s = this.state
    const code = err instanceof RealtimeError ? err.errorId : ''
    if (code === 'connection-lost' || code === 'request-timeout' || code === 'not-connected') {
      // Outcome unknown: the edit stays pending and is resent after the re-join.
      return
    }
    if (code === 'case-field-conflict') {
      const d = (err as RealtimeError).details
      this.onConflict({
        case_id: caseId,
        field,
        value: d.value as JsonValue,
        rev: Number(d.rev),
        base_rev: Number(d.base_rev),
        attempted: value,
      })
      return
    }
    // Refused for good (read-only field, bad value, case no longer editable…).
    delete s.pending[field]
    s.values[field] = s.saved[field] ?? null
    if (err instanceof RealtimeError) s.error = { error_id: err.errorId, message: err.messages, details: err.details }
  }

  /** A change committed on the server (the other side's, or the echo of this side's). */
  private onChanged(d: FieldChanged): void {
    if (!this.mine(d.case_id)) return
    const known = this.state.revs[d.field] ?? 0
    if (d.rev <= known) return
    this.store(d.field, d.value, d.rev)
    this.state.confirmedRev = d.confirmed_rev
    if (d.confirmed_rev === null) this.state.confirmedAt = null
    if (!this.state.pending[d.field]) this.state.values[d.field] = d.value
  }

  /** This side's edit lost: show the winner's value and keep what was typed. */
  private onConflict(d: FieldConflict): void {
    if (!this.mine(d.case_id)) return
    const s = this.state
    const p = s.pending[d.field]
    // The conflict event and the refused request's error both report it: the first one
    // settles the edit in flight, the second finds nothing pending.
    if (!p) return
    const typed = p.queued !== undefined ? p.queued : d.attempted
    this.store(d.field, d.value, d.rev)
    delete s.pending[d.field]
    s.values[d.field] = d.value
    if (!sameValue(typed, d.value)) s.conflicts[d.field] = { theirs: d.value, mine: typed, rev: d.rev }
  }

  /** State moves and confirmations; data changed elsewhere (HTTP) → fetch a snapshot. */
  private onUpdated(d: CaseUpdated): void {
    const s = this.state
    if (!this.mine(d.case_id)) {
      // A case newly opened in this session: the kiosk follows it.
      const open = d.state === 'draft' || d.state === 'returned'
      if (this.follow && open && (s.caseId === null || d.case_id > s.caseId)) void this.join(d.case_id).catch(() => undefined)
      return
    }
    s.caseState = d.state
    s.editable = d.state === 'draft' || d.state === 'returned'
    if (d.rev > s.rev) {
      void this.rejoin()
      return
    }
    if (d.rev === s.rev) {
      if (d.confirmed_rev !== s.confirmedRev) s.confirmedAt = null
      s.confirmedRev = d.confirmed_rev
    }
  }

  private onConfirmed(d: Confirmed): void {
    if (!this.mine(d.case_id)) return
    this.state.confirmedRev = d.rev
    this.state.confirmedAt = d.confirmed_at
    this.state.error = null
  }

  private onMaterial(d: MaterialEvent, added: boolean): void {
    if (!this.mine(d.case_id)) return
    const s = this.state
    const i = s.materials.findIndex((m) => m.id === d.material.id)
    if (i >= 0) s.materials.splice(i, 1, d.material)
    else s.materials.push(d.material)
    if (added && s.captureRequest?.material_code === d.material.material_code) s.captureRequest = null
  }

  private store(field: string, value: JsonValue, rev: number): void {
    const s = this.state
    if (rev < (s.revs[field] ?? 0)) return
    s.saved[field] = value
    s.revs[field] = rev
    if (rev > s.rev) s.rev = rev
  }
}

const LOCAL: Record<string, ErrorBody['message']> = {
  'case-not-joined': { 'zh-CN': '尚未打开办件', en: 'No case is open' },
  'case-edits-pending': {
    'zh-CN': '还有修改正在保存，请稍候再确认',
    en: 'Some changes are still being saved; confirm again in a moment',
  },
}

function localBody(errorId: string): ErrorBody {
  return { error_id: errorId, message: LOCAL[errorId] ?? { 'zh-CN': errorId, en: errorId }, details: {} }
}

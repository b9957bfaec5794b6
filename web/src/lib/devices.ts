/**
 * The device relay's HTTP calls — docs/protocol.md §Devices.
 *
 * Agent (signed in):  requestCommand('id_reader', 'read'); sessionDevices(); commandResult(id)
 * Kiosk (credential): reportResult(id, {ok, data | error}, cred); printDocument(id, cred);
 *                     printSlip(id, cred); reportHealth(report, cred)
 * Supervisor:         devicesHealth()
 */
import { toApiError } from './errors'
import { currentToken } from './session'

export type RelayDevice = 'id_reader' | 'signature_pad' | 'receipt_printer' | 'a4_printer'
export type CommandState = 'pending' | 'succeeded' | 'failed' | 'timed_out'
export type HealthState = 'ok' | 'out_of_paper' | 'error' | 'absent' | 'offline'

export interface CommandView {
  command_id: string
  device: RelayDevice
  command: string
  params: Record<string, unknown>
  state: CommandState
  ok: boolean | null
  data: Record<string, unknown> | null
  error: { error_id: string; message: Record<string, string>; detail: string } | null
  requested_by: string
  created_at: string
  expires_at: string
  finished_at: string | null
}

/** `device.command_requested` (to the kiosk). */
export interface CommandRequested {
  command_id: string
  device: RelayDevice
  command: string
  params: Record<string, unknown>
  requested_by: string
  expires_at: string
}

export interface DeviceState {
  device: 'bridge' | RelayDevice
  present: boolean
  status: HealthState
  detail: string
  updated_at?: string | null
  changed_at?: string | null
}

export interface SessionDevices {
  terminal_id: number
  terminal_name: string
  online: boolean
  devices: DeviceState[]
  commands: CommandView[]
}

export interface TerminalHealth {
  terminal_id: number
  terminal_name: string
  serial_number: string
  site_name: string
  online: boolean
  worst: HealthState
  devices: DeviceState[]
}

export interface Slip {
  title: string
  lines: string[]
  qr: string
}

export interface HealthReport {
  bridge: { connected: boolean; protocol?: string; version?: string; model?: string }
  devices: { device: RelayDevice; present: boolean; status: HealthState; detail: string }[]
}

export type CommandOutcome =
  | { ok: true; data: Record<string, unknown> }
  | { ok: false; error: { code: string; message?: string } }

async function send(url: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token ?? ''}` }
  if (init.body) headers['Content-Type'] = 'application/json'
  const res = await fetch(url, { ...init, headers })
  if (!res.ok) {
    const body: unknown = await res.json().catch(() => null)
    throw toApiError(res.status, body, res.headers.get('Retry-After'))
  }
  return res
}

async function json<T>(url: string, token: string | null, init: RequestInit = {}): Promise<T> {
  return (await (await send(url, token, init)).json()) as T
}

// Agent ----------------------------------------------------------------------------------
export function requestCommand(device: RelayDevice, command: string, params: Record<string, unknown> = {}): Promise<CommandView> {
  return json('/api/desk/devices/commands', currentToken(), {
    method: 'POST',
    body: JSON.stringify({ device, command, params }),
  })
}

export function commandResult(commandId: string): Promise<CommandView> {
  return json(`/api/desk/devices/commands/${commandId}`, currentToken())
}

export function sessionDevices(): Promise<SessionDevices> {
  return json('/api/desk/devices', currentToken())
}

/** A sealed document of a case (docs/trust.md), as the agent's list gives it. */
export interface CaseDocument {
  id: string
  kind: string
  title: string
}

export function caseDocuments(caseId: number): Promise<CaseDocument[]> {
  return json(`/api/desk/cases/${caseId}/documents`, currentToken())
}

// Supervisor --------------------------------------------------------------------------------
export function devicesHealth(): Promise<TerminalHealth[]> {
  return json('/api/devices/health', currentToken())
}

// Kiosk ----------------------------------------------------------------------------------
export function reportResult(commandId: string, outcome: CommandOutcome, credential: string): Promise<CommandView> {
  return json(`/api/kiosk/devices/commands/${commandId}/result`, credential, {
    method: 'POST',
    body: JSON.stringify(outcome),
  })
}

/** The sealed PDF to print, exactly as issued. */
export async function printDocument(commandId: string, credential: string): Promise<ArrayBuffer> {
  return (await send(`/api/kiosk/devices/commands/${commandId}/document`, credential)).arrayBuffer()
}

export function printSlip(commandId: string, credential: string): Promise<Slip> {
  return json(`/api/kiosk/devices/commands/${commandId}/slip`, credential)
}

export function reportHealth(report: HealthReport, credential: string): Promise<{ changed: string[] }> {
  return json('/api/kiosk/devices/health', credential, { method: 'POST', body: JSON.stringify(report) })
}

// Pure helpers ------------------------------------------------------------------------------
export function toBase64(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf)
  let out = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(out)
}

export async function sha256Hex(buf: ArrayBuffer): Promise<string | undefined> {
  if (!globalThis.crypto?.subtle) return undefined // not a secure context: the bridge skips the check
  const digest = await crypto.subtle.digest('SHA-256', buf)
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** The Element Plus tag type of each health state (agent panel, console). */
export const HEALTH_TONE: Record<HealthState, 'success' | 'warning' | 'danger' | 'info'> = {
  ok: 'success',
  out_of_paper: 'warning',
  absent: 'info',
  error: 'danger',
  offline: 'danger',
}

/** Worst first, for a list of kiosks or the devices of one. */
export const SEVERITY: HealthState[] = ['offline', 'error', 'out_of_paper', 'absent', 'ok']

/**
 * Recordings (全程录音录像) for the consoles: the typed API calls, how a recording's flags
 * read, and the recorder transport the agent workbench uses (web/src/lib/recorder.ts).
 */
import { api, unwrap, type Schemas } from './api'
import type { paths } from './api-schema'
import { currentToken } from './session'
import { httpTransport, type RecordingTransport } from './recorder'

export type Recording = Schemas['RecordingOut']
export type RecordingDetail = Schemas['RecordingDetail']
export type VerifyReport = Schemas['VerifyReport']
export type PlaybackGrant = Schemas['PlaybackGrant']

type ListQuery = NonNullable<paths['/api/recordings']['get']['parameters']['query']>

export const recordingsApi = {
  list: (query: Record<string, string | number | boolean>) =>
    unwrap(api.GET('/api/recordings', { params: { query: query as ListQuery } })),
  get: (id: number) =>
    unwrap(api.GET('/api/recordings/{recording_id}', { params: { path: { recording_id: id } } })),
  verify: (id: number) =>
    unwrap(api.POST('/api/recordings/{recording_id}/verify', { params: { path: { recording_id: id } } })),
  /** A playback (or download) link; the server writes it to the audit log. */
  playback: (id: number, purpose: 'play' | 'download' = 'play') =>
    unwrap(
      api.POST('/api/recordings/{recording_id}/playback', {
        params: { path: { recording_id: id } },
        body: { purpose },
      }),
    ),
}

export type RecordingFlag = 'complete' | 'incomplete' | 'recording' | 'purged'

/** The one word a supervisor needs about a recording. */
export function recordingFlag(r: Pick<Recording, 'state'>): RecordingFlag {
  if (r.state === 'finished') return 'complete'
  if (r.state === 'incomplete' || r.state === 'recording' || r.state === 'purged') return r.state
  return 'incomplete'
}

/** "12:05" / "1:02:05" from milliseconds; "—" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms == null) return '—'
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** "1.5 MB" style sizes. */
export function formatBytes(n: number | null | undefined): string {
  if (n == null) return '—'
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`
  return `${(n / 1024 ** 3).toFixed(2)} GB`
}

/** The recorder's transport, signed in as the current user. */
export function recorderTransport(): RecordingTransport {
  return httpTransport({ token: currentToken })
}

/** Permission checks against the list that /api/auth/me returns. */

export const PERMISSIONS = {
  catalogRead: 'catalog.read',
  catalogWrite: 'catalog.write',
  fleetRead: 'fleet.read',
  fleetWrite: 'fleet.write',
  usersRead: 'users.read',
  usersWrite: 'users.write',
  auditRead: 'audit.read',
  queueMonitor: 'queue.monitor',
  agentDesk: 'agent.desk',
  recordingUpload: 'recording.upload',
  recordingRead: 'recording.read',
  recordingPlayback: 'recording.playback',
} as const

/** True when `granted` holds `needed` exactly, or a wildcard "*" / "catalog.*" covering it. */
export function hasPermission(granted: readonly string[], needed: string | undefined): boolean {
  if (!needed) return true
  for (const p of granted) {
    if (p === needed || p === '*') return true
    if (p.endsWith('.*') && needed.startsWith(p.slice(0, -1))) return true
  }
  return false
}

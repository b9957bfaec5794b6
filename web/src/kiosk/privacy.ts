/**
 * Kiosk wipe (PIPL, docs/trust.md §Personal data): when a citizen's session ends, the
 * kiosk page keeps nothing of theirs.
 *
 * `wipePersonalData()` runs when the ticket reaches a final state (store.ts `setTicket`)
 * and again from `resetForNextCitizen()`. It
 * - runs every wiper registered with `onWipe()` (a module or component that holds
 *   personal data outside the components the session unmounts registers one);
 * - revokes every object URL made with `trackObjectUrl()` (stills, ID card photos);
 * - empties every input and text area left in the page, and the session storage, and
 *   every `cloudwindow.*` local-storage key but the kiosk's own settings (credential,
 *   bridge address, language);
 * - asks the local peripheral bridge, when connected, to wipe what it holds
 *   (`bridge.wipe()` of lib/bridge.ts: the `bridge` / `wipe` command, docs/bridge.md).
 * Components of the session (case review, capture, identity, consent) unmount when the
 * ticket ends, which drops their state; the store keeps only the ticket's number.
 */

import { nextTick } from 'vue'
import { bridge } from '@/lib/bridge'

type Wiper = () => void | Promise<void>

const wipers = new Set<Wiper>()
const objectUrls = new Set<string>()
/** Local-storage keys that are the kiosk's own settings, not a citizen's. */
const KEEP = new Set(['cloudwindow.kiosk.credential', 'cloudwindow.kiosk.bridgeUrl', 'cloudwindow.locale'])

/** Run `fn` at every wipe; returns the function that unregisters it. */
export function onWipe(fn: Wiper): () => void {
  wipers.add(fn)
  return () => wipers.delete(fn)
}

/** An object URL the wipe revokes (returns it, for `img.src = trackObjectUrl(...)`). */
export function trackObjectUrl(url: string): string {
  objectUrls.add(url)
  return url
}

/** Revoke one tracked object URL now (a component replacing or dropping its image). */
export function releaseObjectUrl(url: string): void {
  if (objectUrls.delete(url)) URL.revokeObjectURL(url)
}

function clearInputs(): void {
  for (const el of document.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea')) {
    if (el instanceof HTMLInputElement && ['hidden', 'checkbox', 'radio', 'button', 'submit'].includes(el.type)) continue
    el.value = ''
  }
}

function clearStorage(): void {
  try {
    sessionStorage.clear()
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i)
      if (key && key.startsWith('cloudwindow.') && !KEEP.has(key)) localStorage.removeItem(key)
    }
  } catch {
    // storage blocked: nothing was stored there either
  }
}

async function wipeBridge(): Promise<boolean> {
  if (!bridge.connected) return false // no bridge running: nothing held there
  return bridge.wipe()
}

let wipes = 0

/** Drop every piece of the last citizen's personal data from this page and the bridge. */
export async function wipePersonalData(): Promise<void> {
  await nextTick() // the session's components unmount first (their state goes with them)
  for (const fn of [...wipers]) {
    try {
      await fn()
    } catch (err) {
      console.warn('wipe step failed', err)
    }
  }
  for (const url of objectUrls) URL.revokeObjectURL(url)
  objectUrls.clear()
  clearInputs()
  clearStorage()
  const bridged = await wipeBridge()
  wipes += 1
  document.documentElement.dataset.kioskWipes = String(wipes)
  document.documentElement.dataset.kioskBridgeWiped = String(bridged)
}

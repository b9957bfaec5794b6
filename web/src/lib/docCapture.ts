/**
 * A high-resolution still from the kiosk's document camera (高拍仪), and the upload of a
 * material (docs/protocol.md §Cases: materials).
 *
 *   const blob = await captureDocument({ track: call.state.localStream?.getVideoTracks()[0] })
 *   const material = await uploadMaterial({ caseId, materialCode: 'M01', blob, source: 'capture', token })
 *
 * The camera is the one `call.ts` switches the kiosk to (`pickCamera(devices, 'document')`:
 * the video input whose label names a document camera, else the second camera). The still:
 * `ImageCapture.takePhoto()` at the largest size the camera offers, where the browser has
 * it; else the current video frame drawn on a canvas at the track's full resolution. When
 * the call already shows the document camera its track is used (a second open of a camera
 * in use often fails or is held to the first opener's size); otherwise the camera is
 * opened at its highest resolution just for the still and closed again.
 *
 * The server checks the file by content and re-encodes it; nothing here is trusted.
 */
import { pickCamera, type MediaDevicesLike } from './call'
import { toApiError } from './errors'
import type { CaseMaterial } from './caseAssist'

// ---------------------------------------------------------------------------------------
// Pure parts (unit-tested)

export interface RangeLike {
  min?: number
  max?: number
}

export interface PhotoCapabilitiesLike {
  imageWidth?: RangeLike
  imageHeight?: RangeLike
}

/** The largest photo the camera offers (empty: the browser's default, usually the largest). */
export function bestPhotoSettings(caps: PhotoCapabilitiesLike | null | undefined): { imageWidth?: number; imageHeight?: number } {
  const w = caps?.imageWidth?.max
  const h = caps?.imageHeight?.max
  if (!w || !h || !Number.isFinite(w) || !Number.isFinite(h)) return {}
  return { imageWidth: w, imageHeight: h }
}

/**
 * The canvas size for a frame: the video's intrinsic size (what the decoder delivers),
 * else the track's settings; 0×0 when neither is known yet.
 */
export function frameSize(
  settings: { width?: number; height?: number } | null | undefined,
  video: { videoWidth: number; videoHeight: number } | null | undefined,
): { width: number; height: number } {
  if (video && video.videoWidth > 0 && video.videoHeight > 0) return { width: video.videoWidth, height: video.videoHeight }
  if (settings?.width && settings?.height) return { width: settings.width, height: settings.height }
  return { width: 0, height: 0 }
}

/** Constraints that ask a camera for its highest resolution (the browser picks the nearest). */
export function highResConstraints(deviceId: string): MediaStreamConstraints {
  return {
    audio: false,
    video: { deviceId: { exact: deviceId }, width: { ideal: 4096 }, height: { ideal: 3072 } },
  }
}

/** Whether `track` is the document camera's (by device id). */
export function isTrackOf(track: MediaStreamTrack | null | undefined, deviceId: string | undefined): boolean {
  return !!track && !!deviceId && track.readyState !== 'ended' && track.getSettings?.().deviceId === deviceId
}

// ---------------------------------------------------------------------------------------
// Capture

interface ImageCaptureLike {
  takePhoto(settings?: { imageWidth?: number; imageHeight?: number }): Promise<Blob>
  getPhotoCapabilities?(): Promise<PhotoCapabilitiesLike>
}
type ImageCaptureCtor = new (track: MediaStreamTrack) => ImageCaptureLike

export interface CaptureEnv {
  devices?: MediaDevicesLike
  /** `window.ImageCapture`, or null to force the canvas path. */
  ImageCapture?: ImageCaptureCtor | null
  /** Draws the track's current frame and encodes it (the canvas path). */
  grabFrame?: (track: MediaStreamTrack) => Promise<Blob>
}

export class CaptureError extends Error {
  constructor(readonly code: 'no-document-camera' | 'camera-failed' | 'empty-still') {
    super(code)
    this.name = 'CaptureError'
  }
}

/** The browser's ImageCapture, if it has one. */
function browserImageCapture(): ImageCaptureCtor | null {
  const ctor = (globalThis as { ImageCapture?: ImageCaptureCtor }).ImageCapture
  return typeof ctor === 'function' ? ctor : null
}

/** The track's current frame, drawn at full resolution on a canvas, as JPEG. */
export async function grabFrameViaCanvas(track: MediaStreamTrack, quality = 0.92): Promise<Blob> {
  const video = document.createElement('video')
  video.muted = true
  video.playsInline = true
  video.srcObject = new MediaStream([track])
  try {
    await video.play()
    for (let i = 0; i < 50 && (video.videoWidth === 0 || video.readyState < 2); i++) {
      await new Promise((r) => setTimeout(r, 40))
    }
    const { width, height } = frameSize(track.getSettings?.(), video)
    if (!width || !height) throw new CaptureError('empty-still')
    const canvas = document.createElement('canvas')
    canvas.width = width
    canvas.height = height
    const ctx = canvas.getContext('2d')
    if (!ctx) throw new CaptureError('camera-failed')
    ctx.drawImage(video, 0, 0, width, height)
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
    if (!blob || blob.size === 0) throw new CaptureError('empty-still')
    return blob
  } finally {
    video.pause()
    video.srcObject = null
  }
}

/** One still from `track`: takePhoto at the largest size, else the canvas path. */
export async function takeStill(track: MediaStreamTrack, env: CaptureEnv = {}): Promise<Blob> {
  const Ctor = env.ImageCapture === undefined ? browserImageCapture() : env.ImageCapture
  if (Ctor) {
    try {
      const capture = new Ctor(track)
      const caps = capture.getPhotoCapabilities ? await capture.getPhotoCapabilities().catch(() => null) : null
      const blob = await capture.takePhoto(bestPhotoSettings(caps))
      if (blob.size > 0) return blob
    } catch {
      // Not supported for this camera (or busy): take the video frame instead.
    }
  }
  return (env.grabFrame ?? grabFrameViaCanvas)(track)
}

/**
 * A still from the document camera. `track`: the live track the call shows, used when it
 * is the document camera's; otherwise the camera is opened at its highest resolution for
 * the still and closed again.
 */
export async function captureDocument(options: { track?: MediaStreamTrack | null } & CaptureEnv = {}): Promise<Blob> {
  const devices = options.devices ?? (globalThis.navigator?.mediaDevices as MediaDevicesLike | undefined)
  if (!devices) throw new CaptureError('no-document-camera')
  const id = pickCamera(await devices.enumerateDevices(), 'document')
  if (!id) throw new CaptureError('no-document-camera')
  if (options.track && isTrackOf(options.track, id)) return takeStill(options.track, options)
  let stream: MediaStream
  try {
    stream = await devices.getUserMedia(highResConstraints(id))
  } catch {
    throw new CaptureError('camera-failed')
  }
  const track = stream.getVideoTracks()[0]
  try {
    if (!track) throw new CaptureError('camera-failed')
    return await takeStill(track, options)
  } finally {
    stream.getTracks().forEach((t) => t.stop())
  }
}

// ---------------------------------------------------------------------------------------
// Upload

export interface UploadOptions {
  caseId: number
  materialCode: string
  blob: Blob
  /** capture: the kiosk's still (device credential); upload: a file from the agent's PC. */
  source: 'capture' | 'upload'
  /** Bearer token: the kiosk's device credential or the agent's session. */
  token: string
  /** The original file name (agent uploads; shown to people only). */
  filename?: string
  fetch?: typeof fetch
}

/** The upload URL of a material (docs/protocol.md §Cases: materials). */
export function materialUploadUrl(o: Pick<UploadOptions, 'caseId' | 'materialCode' | 'source' | 'filename'>): string {
  const q = new URLSearchParams({ material_code: o.materialCode })
  if (o.source === 'upload' && o.filename) q.set('filename', o.filename.slice(0, 200))
  const base = o.source === 'capture' ? '/api/kiosk/cases' : '/api/desk/cases'
  return `${base}/${encodeURIComponent(String(o.caseId))}/materials?${q}`
}

/** Send the file's bytes; resolves with the stored material or throws the server's ApiError. */
export function uploadMaterial(o: UploadOptions): Promise<CaseMaterial> {
  return call<CaseMaterial>(
    materialUploadUrl(o),
    o.token,
    { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: o.blob },
    o.fetch,
  )
}

/** Capture from the document camera and upload as the kiosk: one call for the capture screen. */
export async function captureAndUpload(
  o: Omit<UploadOptions, 'blob' | 'source' | 'filename'> & { track?: MediaStreamTrack | null } & CaptureEnv,
): Promise<CaseMaterial> {
  const blob = await captureDocument(o)
  return uploadMaterial({ ...o, blob, source: 'capture' })
}

// ---------------------------------------------------------------------------------------
// The agent's side: ask for a capture, decide, show a file

async function call<T>(url: string, token: string, init: RequestInit, fetchImpl?: typeof fetch): Promise<T> {
  const doFetch = fetchImpl ?? ((input: RequestInfo | URL, i?: RequestInit) => fetch(input, i))
  const res = await doFetch(url, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers ?? {}) } })
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) throw toApiError(res.status, body, res.headers.get('Retry-After'))
  return body as T
}

/** Ask the kiosk of the session to capture one material (it shows the framing guide). */
export function requestCapture(caseId: number, materialCode: string, token: string, fetchImpl?: typeof fetch) {
  return call<{ case_id: number; material_code: string; name: string }>(
    `/api/desk/cases/${caseId}/capture-requests`,
    token,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ material_code: materialCode }) },
    fetchImpl,
  )
}

/** Accept a material, or reject it with a reason (the kiosk sees the result). */
export function decideMaterial(
  caseId: number,
  materialId: number,
  decision: { status: 'accepted' } | { status: 'rejected'; reason: string },
  token: string,
  fetchImpl?: typeof fetch,
): Promise<CaseMaterial> {
  return call<CaseMaterial>(
    `/api/desk/cases/${caseId}/materials/${materialId}/decision`,
    token,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: '', ...decision }) },
    fetchImpl,
  )
}

/**
 * A material's file as an object URL for `<img>` / `<iframe>` (the download is audited;
 * revoke the URL when done). `audience`: desk (the agent), approvals, cases (supervisors).
 */
export async function materialObjectUrl(
  caseId: number,
  materialId: number,
  token: string,
  audience: 'desk/cases' | 'approvals' | 'cases' = 'desk/cases',
  fetchImpl?: typeof fetch,
): Promise<string> {
  const doFetch = fetchImpl ?? ((input: RequestInfo | URL, i?: RequestInit) => fetch(input, i))
  const res = await doFetch(`/api/${audience}/${caseId}/materials/${materialId}/file`, {
    headers: { Authorization: `Bearer ${token}` },
  })
  if (!res.ok) throw toApiError(res.status, await res.json().catch(() => null), res.headers.get('Retry-After'))
  return URL.createObjectURL(await res.blob())
}

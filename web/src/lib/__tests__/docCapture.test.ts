import { describe, expect, it, vi } from 'vitest'
import {
  bestPhotoSettings,
  captureDocument,
  CaptureError,
  frameSize,
  highResConstraints,
  materialUploadUrl,
  takeStill,
  uploadMaterial,
} from '../docCapture'
import type { DeviceLike, MediaDevicesLike } from '../call'
import { ApiError } from '../errors'

const CAMS: DeviceLike[] = [
  { deviceId: 'front', kind: 'videoinput', label: 'HD Webcam' },
  { deviceId: 'mic', kind: 'audioinput', label: 'Mic' },
  { deviceId: 'doc', kind: 'videoinput', label: '高拍仪 S500' },
]

function fakeTrack(deviceId: string, width = 3264, height = 2448) {
  return {
    kind: 'video',
    readyState: 'live',
    stopped: false,
    getSettings: () => ({ deviceId, width, height }),
    stop() {
      this.stopped = true
    },
  }
}

function fakeDevices(devices: DeviceLike[] = CAMS) {
  const opened: MediaStreamConstraints[] = []
  const tracks: ReturnType<typeof fakeTrack>[] = []
  const md: MediaDevicesLike = {
    enumerateDevices: async () => devices,
    getUserMedia: async (c) => {
      opened.push(c)
      const id = ((c.video as MediaTrackConstraints).deviceId as ConstrainDOMStringParameters).exact as string
      const t = fakeTrack(id)
      tracks.push(t)
      return { getVideoTracks: () => [t], getTracks: () => [t] } as unknown as MediaStream
    },
  }
  return { md, opened, tracks }
}

class FakeImageCapture {
  static photos: unknown[] = []
  static fail = false
  constructor(readonly track: MediaStreamTrack) {}
  async getPhotoCapabilities() {
    return { imageWidth: { min: 160, max: 4160 }, imageHeight: { min: 120, max: 3120 } }
  }
  async takePhoto(settings?: unknown): Promise<Blob> {
    FakeImageCapture.photos.push(settings)
    if (FakeImageCapture.fail) throw new DOMException('not supported', 'NotSupportedError')
    return new Blob([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], { type: 'image/jpeg' })
  }
}

describe('pure parts', () => {
  it('asks takePhoto for the largest size the camera offers', () => {
    expect(bestPhotoSettings({ imageWidth: { max: 4160 }, imageHeight: { max: 3120 } })).toEqual({
      imageWidth: 4160,
      imageHeight: 3120,
    })
    expect(bestPhotoSettings(null)).toEqual({})
    expect(bestPhotoSettings({ imageWidth: { max: 100 } })).toEqual({})
  })

  it('draws the frame at the video size, else the track settings', () => {
    expect(frameSize({ width: 1280, height: 720 }, { videoWidth: 3264, videoHeight: 2448 })).toEqual({ width: 3264, height: 2448 })
    expect(frameSize({ width: 1280, height: 720 }, { videoWidth: 0, videoHeight: 0 })).toEqual({ width: 1280, height: 720 })
    expect(frameSize(undefined, undefined)).toEqual({ width: 0, height: 0 })
  })

  it('opens the camera asking for its highest resolution, video only', () => {
    const c = highResConstraints('doc')
    expect(c.audio).toBe(false)
    expect(c.video).toMatchObject({ deviceId: { exact: 'doc' }, width: { ideal: 4096 } })
  })

  it('builds the kiosk and agent upload URLs', () => {
    expect(materialUploadUrl({ caseId: 5, materialCode: 'M01', source: 'capture' })).toBe('/api/kiosk/cases/5/materials?material_code=M01')
    expect(materialUploadUrl({ caseId: 5, materialCode: 'M02', source: 'upload', filename: '户口本 首页.pdf' })).toBe(
      '/api/desk/cases/5/materials?material_code=M02&filename=%E6%88%B7%E5%8F%A3%E6%9C%AC+%E9%A6%96%E9%A1%B5.pdf',
    )
  })
})

describe('capture', () => {
  it('takes a full-size photo with ImageCapture from the document camera, then closes it', async () => {
    FakeImageCapture.photos = []
    FakeImageCapture.fail = false
    const { md, opened, tracks } = fakeDevices()
    const blob = await captureDocument({ devices: md, ImageCapture: FakeImageCapture as never })
    expect(blob.size).toBe(6)
    expect(opened).toHaveLength(1)
    expect((opened[0].video as MediaTrackConstraints).deviceId).toEqual({ exact: 'doc' })
    expect(FakeImageCapture.photos).toEqual([{ imageWidth: 4160, imageHeight: 3120 }])
    expect(tracks[0].stopped).toBe(true)
  })

  it("uses the call's live track when it already shows the document camera", async () => {
    FakeImageCapture.fail = false
    const { md, opened } = fakeDevices()
    const live = fakeTrack('doc')
    await captureDocument({ devices: md, track: live as unknown as MediaStreamTrack, ImageCapture: FakeImageCapture as never })
    expect(opened).toHaveLength(0)
    expect(live.stopped).toBe(false) // the call keeps its camera
  })

  it('falls back to the video frame when takePhoto fails or is missing', async () => {
    FakeImageCapture.fail = true
    const frame = new Blob([new Uint8Array(10)], { type: 'image/jpeg' })
    const grabFrame = vi.fn(async () => frame)
    const track = fakeTrack('doc') as unknown as MediaStreamTrack
    expect(await takeStill(track, { ImageCapture: FakeImageCapture as never, grabFrame })).toBe(frame)
    expect(await takeStill(track, { ImageCapture: null, grabFrame })).toBe(frame)
    expect(grabFrame).toHaveBeenCalledTimes(2)
  })

  it('says so when there is no camera, or it cannot be opened', async () => {
    const none = fakeDevices([{ deviceId: 'mic', kind: 'audioinput', label: '' }])
    await expect(captureDocument({ devices: none.md })).rejects.toEqual(new CaptureError('no-document-camera'))
    const broken: MediaDevicesLike = {
      enumerateDevices: async () => CAMS,
      getUserMedia: async () => {
        throw new DOMException('busy', 'NotReadableError')
      },
    }
    await expect(captureDocument({ devices: broken })).rejects.toMatchObject({ code: 'camera-failed' })
  })
})

describe('upload', () => {
  it('posts the raw bytes with the bearer token and returns the material', async () => {
    const calls: [string, RequestInit][] = []
    const material = { id: 3, material_code: 'M01', status: 'pending' }
    const fetchImpl = (async (url: string, init: RequestInit) => {
      calls.push([url, init])
      return new Response(JSON.stringify(material), { status: 201, headers: { 'Content-Type': 'application/json' } })
    }) as unknown as typeof fetch
    const blob = new Blob([new Uint8Array([1, 2])])
    const out = await uploadMaterial({ caseId: 9, materialCode: 'M01', blob, source: 'capture', token: 'cw_dev', fetch: fetchImpl })
    expect(out).toEqual(material)
    expect(calls[0][0]).toBe('/api/kiosk/cases/9/materials?material_code=M01')
    expect(calls[0][1].method).toBe('POST')
    expect((calls[0][1].headers as Record<string, string>).Authorization).toBe('Bearer cw_dev')
    expect(calls[0][1].body).toBe(blob)
  })

  it("throws the server's error (e.g. a file that is not an image)", async () => {
    const fetchImpl = (async () =>
      new Response(
        JSON.stringify({ error_id: 'material-type-unsupported', message: { 'zh-CN': '格式不支持', en: 'unsupported' }, details: {} }),
        { status: 415 },
      )) as unknown as typeof fetch
    const err = await uploadMaterial({
      caseId: 9,
      materialCode: 'M01',
      blob: new Blob(['MZ']),
      source: 'upload',
      token: 't',
      fetch: fetchImpl,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).errorId).toBe('material-type-unsupported')
    expect((err as ApiError).status).toBe(415)
  })
})

import { afterEach, describe, expect, it, vi } from 'vitest'
import { postConsent, postFaceCheck, RETAKE_OUTCOMES, stillSize } from '../identity'
import { ApiError } from '../errors'

describe('stillSize', () => {
  it('crops a 16:9 frame to 4:3 around its centre and scales to 640×480', () => {
    expect(stillSize(1280, 720)).toEqual({ sx: 160, sy: 0, sw: 960, sh: 720, width: 640, height: 480 })
  })
  it('keeps a 640×480 frame as it is', () => {
    expect(stillSize(640, 480)).toEqual({ sx: 0, sy: 0, sw: 640, sh: 480, width: 640, height: 480 })
  })
  it('crops a portrait frame vertically and never scales up', () => {
    expect(stillSize(480, 640)).toEqual({ sx: 0, sy: 140, sw: 480, sh: 360, width: 480, height: 360 })
  })
})

describe('kiosk calls', () => {
  afterEach(() => vi.unstubAllGlobals())

  it('posts the still raw with its type and the kiosk credential', async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ id: 1, outcome: 'match' }), { status: 201 }))
    vi.stubGlobal('fetch', fetchMock)
    const still = new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' })
    const check = await postFaceCheck(still, 'cred')
    expect(check.outcome).toBe('match')
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(url).toBe('/api/kiosk/identity/face-checks')
    expect(init.body).toBe(still)
    expect(init.headers).toMatchObject({ Authorization: 'Bearer cred', 'Content-Type': 'image/jpeg' })
  })

  it('sends the consent with the version shown and reports errors bilingually', async () => {
    const body = { error_id: 'consent-text-outdated', message: { 'zh-CN': '同意书已更新，请重新阅读', en: 'changed' }, details: {} }
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(body), { status: 409 }))
    vi.stubGlobal('fetch', fetchMock)
    await expect(postConsent('face_check', true, 'v0', 'cred')).rejects.toBeInstanceOf(ApiError)
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit]
    expect(JSON.parse(String(init.body))).toEqual({ purpose: 'face_check', granted: true, text_version: 'v0' })
  })

  it('offers a retake for the outcomes the citizen can fix', () => {
    expect([...RETAKE_OUTCOMES].sort()).toEqual(['mismatch', 'multiple_faces', 'no_face'])
  })
})

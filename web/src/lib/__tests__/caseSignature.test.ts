import { afterEach, describe, expect, it, vi } from 'vitest'
import { latestSignatureEvent, signatureObjectUrl } from '../caseSignature'
import { ApiError } from '../errors'

afterEach(() => vi.restoreAllMocks())

describe("the applicant's signature on the console", () => {
  it('takes the latest attach from the history (a replacement wins)', () => {
    const events = [
      { id: 1, kind: 'opened' },
      { id: 2, kind: 'signature' },
      { id: 3, kind: 'confirmed' },
      { id: 4, kind: 'signature' },
      { id: 5, kind: 'transition' },
    ]
    expect(latestSignatureEvent(events)?.id).toBe(4)
    expect(latestSignatureEvent(events.filter((e) => e.kind !== 'signature'))).toBeNull()
    expect(latestSignatureEvent([])).toBeNull()
  })

  it('fetches the PNG only when asked, as an object URL', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47])
    const made = vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:signature')
    const fetchImpl = vi.fn(async () => new Response(png, { headers: { 'Content-Type': 'image/png' } }))
    await expect(signatureObjectUrl(7, fetchImpl)).resolves.toBe('blob:signature')
    expect(fetchImpl).toHaveBeenCalledWith('/api/cases/7/signature', expect.anything())
    expect(made).toHaveBeenCalledOnce()
  })

  it("turns the server's error into an ApiError with its id", async () => {
    const body = {
      error_id: 'case-signature-not-found',
      message: { 'zh-CN': '该办件没有申请人签名', en: 'This case has no signature of the applicant' },
      details: { case_id: 7 },
    }
    const fetchImpl = vi.fn(async () => new Response(JSON.stringify(body), { status: 404 }))
    const err = await signatureObjectUrl(7, fetchImpl).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).errorId).toBe('case-signature-not-found')
  })
})

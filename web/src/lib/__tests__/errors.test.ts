import { describe, expect, it } from 'vitest'
import {
  ApiError,
  errorSummary,
  fieldErrors,
  issuePath,
  parseRetryAfter,
  pickMessage,
  toApiError,
  validationIssues,
} from '../errors'

const fallbacks = { network: 'NETWORK', unknown: (s: number) => `HTTP ${s}` }

describe('pickMessage', () => {
  const both = { 'zh-CN': '事项不存在', en: 'Service item not found' }

  it('returns the message in the requested locale', () => {
    expect(pickMessage(both, 'zh-CN')).toBe('事项不存在')
    expect(pickMessage(both, 'en')).toBe('Service item not found')
  })

  it('matches on language when the region differs', () => {
    expect(pickMessage(both, 'en-GB')).toBe('Service item not found')
    expect(pickMessage({ 'zh-CN': '中文' }, 'zh-TW')).toBe('中文')
  })

  it('falls back to zh-CN, then English, then the fallback text', () => {
    expect(pickMessage(both, 'fr')).toBe('事项不存在')
    expect(pickMessage({ en: 'only English' }, 'zh-CN')).toBe('only English')
    expect(pickMessage({}, 'en', 'fallback')).toBe('fallback')
    expect(pickMessage(undefined, 'en', 'fallback')).toBe('fallback')
  })
})

describe('toApiError', () => {
  it('keeps the stable error body', () => {
    const err = toApiError(404, {
      error_id: 'service-item-not-found',
      message: { 'zh-CN': '事项不存在：X', en: 'Service item not found: X' },
      details: { key: 'X' },
    })
    expect(err).toBeInstanceOf(ApiError)
    expect(err.status).toBe(404)
    expect(err.errorId).toBe('service-item-not-found')
    expect(err.details).toEqual({ key: 'X' })
  })

  it('survives bodies that are not the stable shape', () => {
    const html = toApiError(502, '<html>Bad Gateway</html>')
    expect(html.errorId).toBe('http-502')
    expect(errorSummary(toApiError(502, undefined), 'zh-CN', fallbacks)).toBe('HTTP 502')
    expect(pickMessage(toApiError(400, { detail: 'nope' }).messages, 'en')).toBe('nope')
  })

  it('reads Retry-After seconds for throttled logins', () => {
    const err = toApiError(429, { error_id: 'login-throttled', message: { en: 'wait' } }, '30')
    expect(err.retryAfter).toBe(30)
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeNull()
    expect(parseRetryAfter(null)).toBeNull()
    expect(parseRetryAfter('2.2')).toBe(3)
  })
})

describe('validation errors', () => {
  const err = toApiError(422, {
    error_id: 'validation-failed',
    message: { 'zh-CN': '请求内容不符合要求', en: 'The request is invalid' },
    details: {
      errors: [
        { loc: ['body', 'name'], msg: 'Field required', type: 'missing' },
        { loc: ['body', 'materials', 0, 'name'], msg: 'String should have at least 1 character', type: 'string_too_short' },
        { loc: ['body', 'name'], msg: 'second problem on name', type: 'x' },
      ],
    },
  })

  it('lists the issues with request-part-free paths', () => {
    expect(validationIssues(err).map((i) => issuePath(i.loc))).toEqual(['name', 'materials.0.name', 'name'])
    expect(issuePath(['query', 'page_size'])).toBe('page_size')
    expect(issuePath(['body'])).toBe('body')
  })

  it('maps the first message per top-level field for the form', () => {
    expect(fieldErrors(err, 'en')).toEqual({
      name: 'Field required',
      materials: 'String should have at least 1 character',
    })
  })

  it('maps a domain error that names a field onto that field', () => {
    const ref = toApiError(422, {
      error_id: 'invalid-reference',
      message: { 'zh-CN': '部门不存在或已停用', en: 'Department does not exist or is inactive' },
      details: { field: 'department_code', key: 'X' },
    })
    expect(fieldErrors(ref, 'zh-CN')).toEqual({ department_code: '部门不存在或已停用' })
  })

  it('summarises the message and the fields in one line', () => {
    expect(errorSummary(err, 'zh-CN', fallbacks)).toBe(
      '请求内容不符合要求 (name: Field required; materials.0.name: String should have at least 1 character; name: second problem on name)',
    )
  })

  it('is empty for other errors', () => {
    expect(validationIssues(new Error('x'))).toEqual([])
    expect(fieldErrors('x', 'en')).toEqual({})
  })
})

describe('errorSummary', () => {
  it('reports network failures (fetch throws TypeError) in the UI language', () => {
    expect(errorSummary(new TypeError('Failed to fetch'), 'zh-CN', fallbacks)).toBe('NETWORK')
  })
})

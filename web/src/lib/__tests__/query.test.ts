import { afterEach, describe, expect, it, vi } from 'vitest'
import { buildListQuery, debounce, lastPage } from '../query'

describe('buildListQuery', () => {
  it('sends page and page_size plus the filters that are set', () => {
    expect(
      buildListQuery(
        { page: 2, pageSize: 50 },
        { q: ' sbk ', level: 'district', department_code: '', skill_group_code: null, type: undefined, site_id: 7 },
      ),
    ).toEqual({ page: 2, page_size: 50, q: 'sbk', level: 'district', site_id: 7 })
  })

  it('keeps false booleans (active=false is a real filter)', () => {
    expect(buildListQuery({ page: 1, pageSize: 20 }, { active: false, cloud_enabled: true })).toEqual({
      page: 1,
      page_size: 20,
      active: false,
      cloud_enabled: true,
    })
  })

  it('drops whitespace-only text and non-finite numbers', () => {
    expect(buildListQuery({ page: 1, pageSize: 20 }, { q: '   ', site_id: Number.NaN })).toEqual({ page: 1, page_size: 20 })
  })

  it('clamps to the server limits', () => {
    expect(buildListQuery({ page: 0, pageSize: 1000 }, {})).toEqual({ page: 1, page_size: 200 })
    expect(buildListQuery({ page: -3, pageSize: 0 }, {})).toEqual({ page: 1, page_size: 20 })
  })
})

describe('lastPage', () => {
  it('computes the last non-empty page', () => {
    expect(lastPage(0, 20)).toBe(1)
    expect(lastPage(20, 20)).toBe(1)
    expect(lastPage(21, 20)).toBe(2)
  })
})

describe('debounce', () => {
  afterEach(() => vi.useRealTimers())

  it('calls once with the last arguments after the pause', () => {
    vi.useFakeTimers()
    const seen: string[] = []
    const d = debounce((q: string) => seen.push(q), 300)
    d('s')
    d('sb')
    vi.advanceTimersByTime(299)
    d('sbk')
    vi.advanceTimersByTime(299)
    expect(seen).toEqual([])
    vi.advanceTimersByTime(1)
    expect(seen).toEqual(['sbk'])
  })

  it('can be cancelled', () => {
    vi.useFakeTimers()
    const fn = vi.fn()
    const d = debounce(fn, 100)
    d()
    d.cancel()
    vi.advanceTimersByTime(200)
    expect(fn).not.toHaveBeenCalled()
  })
})

/** Building list queries: page parameters plus the filters that are actually set. */

export interface PageState {
  page: number
  pageSize: number
}

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 200
export const PAGE_SIZES = [10, 20, 50, 100, 200]

export type FilterValue = string | number | boolean | null | undefined

/**
 * `{page, page_size, ...filters}` with unset filters dropped: null, undefined, '' and
 * whitespace-only strings mean "no filter" (an empty `q` must not become `q=`).
 * Page is clamped to ≥ 1, page_size to 1..200 (the server's limits).
 */
export function buildListQuery<F extends Record<string, FilterValue>>(
  state: PageState,
  filters: F,
): Record<string, string | number | boolean> {
  const page = Math.max(1, Math.floor(state.page || 1))
  const size = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(state.pageSize || DEFAULT_PAGE_SIZE)))
  const out: Record<string, string | number | boolean> = { page, page_size: size }
  for (const [key, raw] of Object.entries(filters)) {
    if (raw === null || raw === undefined) continue
    if (typeof raw === 'string') {
      const v = raw.trim()
      if (v === '') continue
      out[key] = v
    } else if (typeof raw === 'number') {
      if (!Number.isFinite(raw)) continue
      out[key] = raw
    } else {
      out[key] = raw
    }
  }
  return out
}

/** The last page that still has rows after `total` shrank (e.g. after a filter change). */
export function lastPage(total: number, pageSize: number): number {
  return Math.max(1, Math.ceil(total / Math.max(1, pageSize)))
}

/** Call `fn` once `wait` ms have passed without another call (search-as-you-type). */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, wait: number) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const debounced = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      fn(...args)
    }, wait)
  }
  debounced.cancel = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  return debounced
}

import { onBeforeUnmount, reactive, ref, watch, type Ref } from 'vue'
import { buildListQuery, debounce, DEFAULT_PAGE_SIZE, lastPage, type FilterValue } from '../query'
import { showError } from '../notify'
import type { Page } from '../models'

/**
 * Server-side paginated table state: filters, page, rows, loading. Any filter change
 * goes back to page 1 and reloads; the text filter `q` waits for typing to pause.
 */
export function useListPage<T, F extends Record<string, FilterValue>>(
  fetchPage: (query: Record<string, string | number | boolean>) => Promise<Page<T>>,
  initialFilters: F,
  options: { debounceMs?: number } = {},
) {
  const filters = reactive({ ...initialFilters }) as F
  const items = ref([]) as Ref<T[]>
  const total = ref(0)
  const page = ref(1)
  const pageSize = ref(DEFAULT_PAGE_SIZE)
  const loading = ref(false)
  let seq = 0

  async function reload(): Promise<void> {
    const mine = ++seq
    loading.value = true
    try {
      const res = await fetchPage(buildListQuery({ page: page.value, pageSize: pageSize.value }, { ...filters }))
      if (mine !== seq) return // a newer request superseded this one
      items.value = res.items
      total.value = res.total
      // Rows vanished under us (e.g. deactivated with an active filter): step back.
      if (res.items.length === 0 && res.total > 0 && page.value > lastPage(res.total, pageSize.value)) {
        page.value = lastPage(res.total, pageSize.value)
        await reload()
      }
    } catch (err) {
      if (mine === seq) showError(err)
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  const reloadSoon = debounce(() => {
    page.value = 1
    void reload()
  }, options.debounceMs ?? 300)

  let lastQ = (filters as Record<string, FilterValue>).q
  watch(
    () => ({ ...filters }),
    (now) => {
      const q = (now as Record<string, FilterValue>).q
      if (q !== lastQ) {
        lastQ = q
        reloadSoon()
      } else {
        reloadSoon.cancel()
        page.value = 1
        void reload()
      }
    },
  )

  function onPageChange(p: number): void {
    page.value = p
    void reload()
  }

  function onSizeChange(size: number): void {
    pageSize.value = size
    page.value = 1
    void reload()
  }

  function resetFilters(): void {
    Object.assign(filters, initialFilters)
  }

  onBeforeUnmount(() => reloadSoon.cancel())

  return { filters, items, total, page, pageSize, loading, reload, onPageChange, onSizeChange, resetFilters }
}

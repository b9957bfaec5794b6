import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router'
import { auth, can, forget, isAuthenticated, loadMe } from '@/lib/auth'
import { onUnauthorized } from '@/lib/api'
import { PERMISSIONS as P } from '@/lib/permissions'
import { ApiError } from '@/lib/errors'
import ConsoleLayout from './layout/ConsoleLayout.vue'
import LoginView from './views/LoginView.vue'
import { approvalsPage, caseDetailPages, casesPage } from './caseRoutes'

declare module 'vue-router' {
  interface RouteMeta {
    /** i18n key of the page title / menu label */
    titleKey?: string
    /** permission needed to see the page */
    perm?: string
    /** permission needed for its create/edit/activate buttons */
    writePerm?: string
    /** menu group i18n key */
    group?: string
    public?: boolean
  }
}

export const consolePages: RouteRecordRaw[] = [
  approvalsPage,
  {
    path: 'catalog',
    name: 'catalog',
    component: () => import('./views/CatalogView.vue'),
    meta: { titleKey: 'menu.catalog', perm: P.catalogRead, writePerm: P.catalogWrite, group: 'menu.groupCatalog' },
  },
  {
    path: 'forms',
    name: 'forms',
    component: () => import('./views/FormsView.vue'),
    meta: { titleKey: 'forms.menuTitle', perm: P.catalogRead, writePerm: 'forms.write', group: 'menu.groupCatalog' },
  },
  {
    path: 'regions',
    name: 'regions',
    component: () => import('./views/RegionsView.vue'),
    meta: { titleKey: 'menu.regions', perm: P.catalogRead, writePerm: P.catalogWrite, group: 'menu.groupCatalog' },
  },
  {
    path: 'departments',
    name: 'departments',
    component: () => import('./views/DepartmentsView.vue'),
    meta: { titleKey: 'menu.departments', perm: P.catalogRead, writePerm: P.catalogWrite, group: 'menu.groupCatalog' },
  },
  {
    path: 'skill-groups',
    name: 'skill-groups',
    component: () => import('./views/SkillGroupsView.vue'),
    meta: { titleKey: 'menu.skillGroups', perm: P.catalogRead, writePerm: P.catalogWrite, group: 'menu.groupCatalog' },
  },
  {
    path: 'holiday-calendar',
    name: 'holiday-calendar',
    component: () => import('./views/HolidayCalendarView.vue'),
    meta: { titleKey: 'calendar.menuTitle', perm: P.catalogRead, writePerm: P.catalogWrite, group: 'menu.groupCatalog' },
  },
  {
    path: 'sites',
    name: 'sites',
    component: () => import('./views/SitesView.vue'),
    meta: { titleKey: 'menu.sites', perm: P.fleetRead, writePerm: P.fleetWrite, group: 'menu.groupFleet' },
  },
  {
    path: 'terminals',
    name: 'terminals',
    component: () => import('./views/TerminalsView.vue'),
    meta: { titleKey: 'menu.terminals', perm: P.fleetRead, writePerm: P.fleetWrite, group: 'menu.groupFleet' },
  },
  {
    path: 'seats',
    name: 'seats',
    component: () => import('./views/SeatsView.vue'),
    meta: { titleKey: 'menu.seats', perm: P.fleetRead, writePerm: P.fleetWrite, group: 'menu.groupFleet' },
  },
  {
    path: 'users',
    name: 'users',
    component: () => import('./views/UsersView.vue'),
    meta: { titleKey: 'menu.users', perm: P.usersRead, writePerm: P.usersWrite, group: 'menu.groupAccounts' },
  },
  {
    path: 'queue',
    name: 'queue',
    component: () => import('./views/QueueView.vue'),
    meta: { titleKey: 'menu.queue', perm: P.queueMonitor, group: 'menu.groupMonitor' },
  },
  {
    path: 'quality',
    name: 'quality',
    component: () => import('./views/QualityView.vue'),
    meta: { titleKey: 'menu.quality', perm: P.queueMonitor, group: 'menu.groupMonitor' },
  },
  {
    path: 'recordings',
    name: 'recordings',
    component: () => import('./views/RecordingsView.vue'),
    meta: { titleKey: 'menu.recordings', perm: P.recordingRead, group: 'menu.groupMonitor' },
  },
  {
    path: 'audit',
    name: 'audit',
    component: () => import('./views/AuditView.vue'),
    meta: { titleKey: 'privacy.audit.menu', perm: P.auditRead, group: 'menu.groupMonitor' },
  },
  casesPage,
]

/** The first page the signed-in user may open, or the no-access page. */
export function homeRoute(): string {
  const first = consolePages.find((p) => can(p.meta?.perm))
  return first ? `/${first.path}` : '/forbidden'
}

const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
  {
    path: '/',
    component: ConsoleLayout,
    children: [
      // Not a `redirect`: those resolve before the guard has loaded the permissions.
      { path: '', name: 'home', component: { render: () => null } },
      ...consolePages,
      ...caseDetailPages,
      { path: 'forbidden', name: 'forbidden', component: () => import('./views/ForbiddenView.vue') },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) {
    // Already signed in: the login page just bounces to the console.
    if (to.name === 'login' && isAuthenticated.value && auth.loaded) return homeRoute()
    return true
  }
  if (!isAuthenticated.value) {
    // Come back to the page asked for, unless it is just the start page.
    const back = to.name !== 'home' && to.name !== 'forbidden' && to.matched.length > 0
    return { name: 'login', query: back ? { redirect: to.fullPath } : {} }
  }
  if (!auth.loaded) {
    try {
      await loadMe()
    } catch (err) {
      forget()
      if (err instanceof ApiError && err.status === 401) return { name: 'login', query: { expired: '1' } }
      return { name: 'login' }
    }
  }
  if (to.name === 'home') return homeRoute()
  if (to.meta.perm && !can(to.meta.perm)) return homeRoute()
  return true
})

// The server rejected our token mid-session (expired, revoked): back to the login page.
onUnauthorized(() => {
  forget()
  const current = router.currentRoute.value
  if (current.name !== 'login') {
    void router.push({ name: 'login', query: { expired: '1', redirect: current.fullPath } })
  }
})

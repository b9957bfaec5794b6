/**
 * Console pages of cases (issue 5): the approver's 云端批 and the supervisor's 办件监管.
 * Both join the menu (router.ts `consolePages`): approvals first, so an approver lands on
 * the list of cases waiting for them; the detail pages are routes only.
 */
import type { RouteRecordRaw } from 'vue-router'

export const CASE_PERMISSIONS = {
  approve: 'case.approve',
  read: 'case.read',
} as const

const group = 'caseCommon.menuGroup'

export const approvalsPage: RouteRecordRaw = {
  path: 'approvals',
  name: 'approvals',
  component: () => import('./views/ApprovalsView.vue'),
  meta: { titleKey: 'approval.menuTitle', perm: CASE_PERMISSIONS.approve, group },
}

export const casesPage: RouteRecordRaw = {
  path: 'cases',
  name: 'cases',
  component: () => import('./views/CasesView.vue'),
  meta: { titleKey: 'caseList.menuTitle', perm: CASE_PERMISSIONS.read, group },
}

export const caseDetailPages: RouteRecordRaw[] = [
  {
    path: 'approvals/:caseId(\\d+)',
    name: 'approval-detail',
    component: () => import('./views/ApprovalDetailView.vue'),
    props: (route) => ({ caseId: Number(route.params.caseId) }),
    meta: { titleKey: 'approval.detailTitle', perm: CASE_PERMISSIONS.approve },
  },
  {
    path: 'cases/:caseId(\\d+)',
    name: 'case-detail',
    component: () => import('./views/CasesDetailView.vue'),
    props: (route) => ({ caseId: Number(route.params.caseId) }),
    meta: { titleKey: 'caseList.detailTitle', perm: CASE_PERMISSIONS.read },
  },
]

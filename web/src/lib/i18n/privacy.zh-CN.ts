// Messages of personal-data protection (PIPL, issue 6): the auditors' log page and the
// citizen's sealed documents on the lookup page. Spread into zh-CN.ts; privacy.en.ts has
// the same keys.
const privacyZhCN = {
  privacy: {
    audit: {
      menu: '审计日志',
      title: '审计日志',
      hint: '只增不改的审计记录：个人信息的每次查看、录音录像和电子文书的每次下载、登录和修改。记录中的个人信息已脱敏。',
      refresh: '刷新',
      at: '时间',
      actor: '操作人',
      action: '操作',
      entity: '对象',
      entityType: '对象类型',
      entityId: '对象编号',
      q: '详情包含（如办件编号）',
      details: '详情',
      ip: '来源地址',
      since: '开始时间',
      until: '结束时间',
      system: '系统',
      public: '公众（未登录）',
    },
    documents: {
      show: '查看和下载电子文书（受理回执、办结通知书）',
      loading: '正在读取…',
      title: '电子文书',
      none: '该办件暂无可下载的电子文书。',
      download: '下载 PDF',
      verify: '验真',
      note: '文书加盖电子印章，可扫描其中的二维码或点击“验真”核验。文书中的个人信息已脱敏。每次下载都会被记录。',
    },
  },
}

export default privacyZhCN

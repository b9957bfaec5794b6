// Messages of electronic licences (电子证照, issue 6): the agent's licence panel and the
// licence tag on case materials. Spread into zh-CN.ts; licences.en.ts has the same keys.
const licencesZhCN = {
  licences: {
    title: '电子证照（免证办）',
    intro: '经办事人在智能柜台上同意后，可调取其电子证照代替纸质材料。',
    askConsent: '请求办事人授权',
    askAgain: '重新请求授权',
    waiting: '等待办事人在柜台上确认授权…',
    declined: '办事人未同意调取电子证照',
    refresh: '刷新',
    holder: '持证人',
    holderFrom: { identity: '依据：本次读取的身份证', application: '依据：申请表中的身份证号' },
    provider: { local: '本平台证照库', http: '省电子证照库' },
    type: '证照类型',
    number: '证照编号',
    issuer: '发证机关',
    validity: '有效期',
    validUntil: '至 {date}',
    longTerm: '长期',
    status: { valid: '有效', expired: '已过期', revoked: '已注销' },
    useFor: '用于：{name}',
    used: '已用于：{name}',
    usedOk: '已用电子证照作为材料“{name}”',
    none: '未查到该办事人的电子证照',
    notUsable: '过期或注销的证照不能作为申请材料',
    tag: '电子证照',
  },
}

export default licencesZhCN

// English messages of electronic licences (licences.zh-CN.ts has the same keys).
const licencesEn = {
  licences: {
    title: 'Electronic licences (no paper needed)',
    intro: 'Once the citizen agrees on the kiosk, their electronic licences can stand in for paper materials.',
    askConsent: 'Ask the citizen’s consent',
    askAgain: 'Ask again',
    waiting: 'Waiting for the citizen to agree on the kiosk…',
    declined: 'The citizen did not agree to a licence fetch',
    refresh: 'Refresh',
    holder: 'Holder',
    holderFrom: { identity: 'From the ID card read in this session', application: 'From the ID number on the form' },
    provider: { local: 'This platform’s registry', http: 'Provincial licence service' },
    type: 'Type',
    number: 'Number',
    issuer: 'Issuer',
    validity: 'Valid',
    validUntil: 'until {date}',
    longTerm: 'no expiry',
    status: { valid: 'Valid', expired: 'Expired', revoked: 'Revoked' },
    useFor: 'Use for: {name}',
    used: 'Used for: {name}',
    usedOk: 'The electronic licence now stands for “{name}”',
    none: 'No electronic licences found for this citizen',
    notUsable: 'An expired or revoked licence cannot be used as a material',
    tag: 'e-licence',
  },
}

export default licencesEn

// English of privacy.zh-CN.ts (same keys).
const privacyEn = {
  privacy: {
    audit: {
      menu: 'Audit log',
      title: 'Audit log',
      hint: 'The append-only audit trail: every view of personal data, every download of a recording or a sealed document, sign-ins and changes. Personal data in it is masked.',
      refresh: 'Refresh',
      at: 'Time',
      actor: 'Actor',
      action: 'Action',
      entity: 'Entity',
      entityType: 'Entity type',
      entityId: 'Entity id',
      q: 'Details contain (e.g. a case number)',
      details: 'Details',
      ip: 'Client address',
      since: 'From',
      until: 'To',
      system: 'System',
      public: 'Public (not signed in)',
    },
    documents: {
      show: 'Show and download the sealed documents (receipt, decision)',
      loading: 'Loading…',
      title: 'Sealed documents',
      none: 'This case has no document to download yet.',
      download: 'Download PDF',
      verify: 'Verify',
      note: 'The documents carry an electronic seal: scan their QR code or use "Verify" to check them. Personal data in them is masked. Every download is recorded.',
    },
  },
}

export default privacyEn

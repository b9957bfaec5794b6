"""Electronic licences (电子证照) and 免证办 — docs/licences.md."""

"""Cases (办件): forms, remote assistance, materials, approval, deadlines — docs/cases.md."""

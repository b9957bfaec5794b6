"""Trust services (issue 6): sealed, verifiable result documents — docs/trust.md."""

"""Sign-in, roles, row-level scope and the audit log (below every domain)."""

"""Use cases: load rows, call the domain, write rows and the audit entry. Services flush; callers commit."""

"""JSON APIs: v2 (public, Statuspage-compatible) and v1 (management, token auth)."""

"""The management API's resources, each declared once: one module per resource.

A module declares its request bodies (pydantic models on `base.Body`, whose fields carry the rule
that checks them), the answers that only the API shows (the shared ones are in statuspage/shapes/),
and a `Section`: its tag and its table of operations. The views parse bodies with the `Wrapped`
declarations, and statuspage/api/openapi.py builds /api/v1/openapi.json from the sections.

A new field is one line in its body model (and, if answers show it, one in its shape and builder).
A new endpoint is one `Operation` in its section; a new resource adds its section to
`openapi.SECTIONS`.
"""

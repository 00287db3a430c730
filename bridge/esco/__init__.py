"""ESCO skills for EDC Bridge: CSV import, bundled snapshot, multilingual search, lookup.

Everything that needs ESCO (template saving, credential assembly, the LMS adapters through the
sidecar) goes through :class:`bridge.esco.service.EscoService`, so one snapshot and one search
index serve the whole process.
"""

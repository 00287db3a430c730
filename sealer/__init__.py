"""Sealing and verification of credentials (JAdES for JSON, XAdES for XML).

This package is deliberately independent of the rest of EDC Bridge (no Flask, no imports of
``bridge``), so it can be audited and reused on its own.
"""

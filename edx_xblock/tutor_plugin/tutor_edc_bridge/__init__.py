"""Tutor plugin of EDC Bridge (entry point ``tutor.plugin.v1``: ``edc-bridge``)."""

__version__ = "0.2.0"

"""Delivery channel tests (SMTP on loopback, the fake Europass wallet)."""

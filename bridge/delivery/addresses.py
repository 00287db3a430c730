"""Checks on e-mail addresses and display names before they go into headers or URLs.

Addresses come from LMS records, so they are untrusted: a stray newline would let someone inject
headers, and a malformed address would only fail much later at the SMTP server. Checking up front
turns that into a clear :class:`DeliveryInputError` naming the field.
"""
from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import parseaddr

from bridge.delivery.errors import DeliveryInputError

# Deliberately permissive on characters (internationalised addresses exist) but strict on structure.
_ADDRESS = re.compile(r"^[^\s@<>()\[\]\\,;:\"]+@[^\s@<>()\[\]\\,;:\"]+\.[^\s@<>()\[\]\\,;:\".]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_address(value: object, field: str) -> str:
    """Return the address if it looks deliverable, else raise naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise DeliveryInputError(field, "an e-mail address is required")
    address = value.strip()
    if len(address) > 254 or _CONTROL.search(address) or not _ADDRESS.match(address):
        raise DeliveryInputError(field, "is not a valid e-mail address")
    return address


def check_display_name(value: object, field: str) -> str:
    """Display names may hold any character except line breaks and other control characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DeliveryInputError(field, "must be a string")
    if _CONTROL.search(value):
        raise DeliveryInputError(field, "must not contain line breaks or control characters")
    return value.strip()


def mailbox(value: object, field: str) -> Address:
    """Parse ``"Name <user@host>"`` or a bare address into a header-safe :class:`Address`."""
    if not isinstance(value, str) or not value.strip():
        raise DeliveryInputError(field, "an e-mail address is required")
    if _CONTROL.search(value):
        raise DeliveryInputError(field, "must not contain line breaks or control characters")
    name, address = parseaddr(value.strip())
    return make_address(name, address, field)


def make_address(name: str | None, address: str, field: str) -> Address:
    """An :class:`Address` from a checked name and address (the email package quotes and encodes it).

    An internationalised domain is converted to its ASCII (IDNA) form, which every server accepts;
    left as Unicode, the email package would wrap it in an RFC 2047 encoded word, which is invalid
    inside an address. A non-ASCII local part cannot be converted and needs SMTPUTF8.
    """
    checked = check_address(address, field)
    local, _, domain = checked.rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DeliveryInputError(field, "has an invalid domain name") from None
    return Address(display_name=check_display_name(name, field), username=local, domain=ascii_domain)

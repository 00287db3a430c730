"""Server-rendered public pages of the sidecar: credential verification and the course catalogue.

These pages are for people rather than programs (registrars checking a credential they received,
learners and partners browsing courses), so they work without JavaScript or login, in English and
French, and are usable with a keyboard and a screen reader. The JSON counterparts are
``POST /api/v1/verify`` and the ``.jsonld`` catalogue documents.
"""

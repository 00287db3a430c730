"""Open edX side of EDC Bridge: the credential XBlock and the ``lms.djangoapp`` plugin app.

Talks to the sidecar over HTTP only (never imports ``bridge`` or ``sealer``), so it installs into an
Open edX image on its own. Importing this package loads nothing from Django or XBlock.
"""

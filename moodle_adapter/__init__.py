"""Moodle adapter: moves Moodle course completions to the EDC Bridge sidecar.

Two routes share one contract (docs/architecture.md): a Python poller that reads Moodle's Web
Services (nothing to install in Moodle) and the ``local_edcbridge`` PHP plugin in
``moodle_plugin/`` that pushes each completion the minute it happens. Both talk to the sidecar
over signed HTTP only; this package never imports ``bridge`` or ``sealer`` so it can run on a
host that has neither.
"""

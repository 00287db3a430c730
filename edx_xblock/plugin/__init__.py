"""Open edX plugin app (``lms.djangoapp``): turns passing learners into completions for the sidecar.

Receivers only write an outbox row; sending happens after the LMS transaction commits, on a
background thread or from the ``edc_bridge_drain`` command, so the sidecar being slow or down never
delays or fails a learner's request.
"""

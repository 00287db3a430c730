"""EDC Bridge sidecar: turns LMS course completions into sealed ELM v3 credentials."""


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """``flask --app bridge run`` entry point; imported lazily so ``import bridge`` stays light."""
    from bridge.app import create_app as factory

    return factory(*args, **kwargs)

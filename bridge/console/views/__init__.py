"""Console pages, one module per section; each module's blueprint is registered by ``bridge.console``."""

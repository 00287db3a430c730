"""EDC Bridge sidecar: turns LMS course completions into sealed ELM v3 credentials."""

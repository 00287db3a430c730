"""HTTP API v1 of the sidecar (contract: docs/architecture.md), one blueprint per resource."""

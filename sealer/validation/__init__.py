"""Validation of seals: chains to trust anchors, revocation, proof of existence, the verdict."""

"""Provenance: every run records what produced it (code, environment, invocation) in ``provenance.json``."""

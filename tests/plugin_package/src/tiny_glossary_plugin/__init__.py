"""A tiny third-party glossary_exp plugin (kept import-light: Hydra reads its conf/ at start-up)."""

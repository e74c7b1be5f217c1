"""glossary_exp: the PyTorch glossary's examples as reproducible Lightning + Hydra experiments."""

__version__ = "0.1.0"

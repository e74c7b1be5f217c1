"""glossary_exp's Hydra config groups. Importing this package (Hydra does, to read them) registers the
schema the primary config starts from and the resolvers its run directories use."""

from glossary_exp.rundir import register_resolvers
from glossary_exp.schema import register_schema

register_schema()
register_resolvers()

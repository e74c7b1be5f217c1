"""The glossary's regression examples; importing this package registers their plugins."""

from glossary_exp.examples import linear_regression, quadratic_gd, random_regression, sine_cubic  # noqa: F401

"""Secrets never reach a file or the screen: passwords in URLs and secret-named variables are masked.

The one home of what counts as a secret. A URL's password (``postgresql://me:pw@host/db``,
``https://user:token@host``) becomes ``***``; an environment variable whose name says token, key,
secret, password or credential is left out of anything recorded. Imports only the standard library.
"""

from __future__ import annotations

import re

MASK = "***"
# user:password@ in any scheme://... URL, wherever it stands in a longer text (an override, a command line).
# The password runs to the last "@" of the word, "/" and "@" included: too much masked rather than a
# piece of a password shown ("me:p@ss@host" hides "p@ss").
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>\S+)(?P<tail>@)"
                           r"(?=[^@\s]*(?:\s|$))")
# Names of variables that hold credentials (AWS_SECRET_ACCESS_KEY, WANDB_API_KEY, HF_TOKEN, PGPASSWORD...).
_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every URL password replaced by ``***``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)


def has_password(text: str) -> bool:
    """Whether ``text`` holds a URL with a password in it."""
    return _URL_PASSWORD.search(text) is not None


def is_secret_name(name: str) -> bool:
    """Whether an environment variable named ``name`` may hold a credential (its value is never recorded)."""
    return _SECRET_NAME.search(name) is not None

"""Secrets never reach a file or the screen: passwords in URLs and secret-named variables are masked.

The one home of what counts as a secret. A URL's password (``postgresql://me:pw@host/db``,
``https://user:token@host``, ``user:pw@host``) and a query's secret (``?token=...``) become ``***``;
an environment variable whose name says token, key, secret, password or credential is left out of
anything recorded. Imports only the standard library.
"""

from __future__ import annotations

import re

MASK = "***"
# user:password@ in any scheme://... URL, wherever it stands in a longer text (an override, a command line).
# The password runs to the last "@" of the word, "/" and "@" included: too much masked rather than a
# piece of a password shown ("me:p@ss@host" hides "p@ss").
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<password>\S+)(?P<tail>@)"
                           r"(?=[^@\s]*(?:\s|$))")
# Names of variables that hold credentials (AWS_SECRET_ACCESS_KEY, WANDB_API_KEY, HF_TOKEN, PGPASSWORD,
# SLURM_JOB_PASS, MY_PWD, DB_CREDS...): erring towards hiding.
_SECRET_WORDS = r"TOKEN|KEY|SECRET|PASS|PWD|CRED|AUTH|COOKIE|SESSION|PRIVATE|SIGNATURE"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)
# A URL query parameter named like a secret: ...?token=..., &api_key=..., &X-Amz-Signature=...
_QUERY_SECRET = re.compile(rf"(?P<head>[?&;][^=&#\s]*(?:{_SECRET_WORDS})[^=&#\s]*=)(?P<password>[^&#\s]+)",
                           re.IGNORECASE)
# user:password@host without a scheme (scp's and ssh's form).
_BARE_PASSWORD = re.compile(r"(?<![\w/:@.-])(?P<head>[\w.-]+:)(?P<password>[^@\s/:]+)(?P<tail>@[\w-]+\.?[\w.-]*)")


def redact(text: str) -> str:
    """``text`` with every password in a URL (or user:password@host) and secret query value replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)
    return _BARE_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)


def has_password(text: str) -> bool:
    """Whether ``text`` holds a URL with a password in it, or a secret in its query."""
    return _URL_PASSWORD.search(text) is not None or _QUERY_SECRET.search(text) is not None


def is_secret_name(name: str) -> bool:
    """Whether an environment variable named ``name`` may hold a credential (its value is never recorded)."""
    return _SECRET_NAME.search(name) is not None

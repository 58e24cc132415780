"""Refuse to start the production stack with a missing, placeholder or weak secret.

``docker compose`` can only reject an *empty* ``${VAR:?}``; ``.env.example`` ships
``change-me`` values, so a copied example would start a stack whose secrets everybody knows.
The compose file runs ``procure check-secrets`` as a one-shot service that every other
service waits for: a known placeholder (``change-me``, ``changeme``, ``secret``,
``password``, ...), a value shorter than ``MIN_LENGTH`` or an invalid Fernet key stops the
stack before PostgreSQL or Airflow starts, naming the variable (never its value).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping

#: what .env must set; AIRFLOW__CORE__FERNET_KEY must also be a Fernet key
SECRETS = ("POSTGRES_PASSWORD", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY")
MIN_LENGTH = 16
#: values (compared without case, spaces, '-' or '_') that are documentation, not secrets
PLACEHOLDERS = frozenset(
    {"changeme", "change", "replaceme", "secret", "password", "passw0rd", "airflow", "admin", "postgres",
     "example", "test", "todo", "fixme", "xxx", "none", "null", "default", "letmein", "123456"}
)  # fmt: skip
_FOLD = re.compile(r"[\s_\-]+")


def _placeholder(value: str) -> bool:
    folded = _FOLD.sub("", value.lower())
    return (
        folded in PLACEHOLDERS
        or folded.startswith(("changeme", "replaceme", "yoursecret"))
        or (value.startswith("<") and value.endswith(">"))
        or len(set(folded)) <= 2
    )


def problems(env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret that must not be used, one line each (the value is never shown)."""
    env = os.environ if env is None else env
    out = []
    for name in SECRETS:
        value = (env.get(name) or "").strip()
        if not value:
            out.append(f"{name} is not set: generate it as .env.example says")
        elif _placeholder(value):
            out.append(f"{name} is a known placeholder (as in .env.example): replace it with a generated secret")
        elif name == "AIRFLOW__CORE__FERNET_KEY":
            try:
                key = base64.urlsafe_b64decode(value.encode("ascii"))
            except (binascii.Error, ValueError, UnicodeEncodeError):
                key = b""
            if len(key) != 32:
                out.append(
                    f"{name} is not a Fernet key (32 url-safe base64-encoded bytes): generate it as .env.example says"
                )
        elif len(value) < MIN_LENGTH:
            out.append(
                f"{name} is {len(value)} characters: use at least {MIN_LENGTH} (generate it as .env.example says)"
            )
    return out

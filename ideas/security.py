"""Passwords (argon2) and opaque secrets (API tokens, one-time links).

Secrets handed to people are random; only their SHA-256 is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ideas.config import get_settings

#: argon2id with the library's defaults (RFC 9106 low-memory profile:
#: t=3, m=64 MiB, p=4). The test profile is cheap and refused unless the
#: environment asks for it explicitly.
_PRODUCTION = PasswordHasher()
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def _hasher() -> PasswordHasher:
    if get_settings().argon2_profile == "fast-insecure-for-tests":
        return _FAST
    return _PRODUCTION


def password_problem(password: str) -> str | None:
    """Why a password is refused, or None. Length is what matters (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() == "" or len(set(password)) < 4:
        return "is too simple"
    return None


def hash_password(password: str) -> str:
    return _hasher().hash(password)


#: verified against when an account does not exist, so both answers take as long
_DUMMY_HASH: dict[str, str] = {}


def verify_password(stored_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    if not stored_hash:
        key = get_settings().argon2_profile
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash("not-a-real-password")
        stored_hash = _DUMMY_HASH[key]
        real = False
    else:
        real = True
    try:
        return hasher.verify(stored_hash, password) and real
    except (VerificationError, InvalidHashError):
        return False


#: One thread per process for argon2: each hash takes 64 MiB and a core for
#: 50-100 ms. In this thread the event loop goes on serving other requests
#: meanwhile; one at a time keeps memory and CPU where they were on the loop
#: (with asyncio's default pool, a burst of logins ran 6 hashes at once and a
#: web worker kept ~450 MiB resident afterwards).
_ARGON2_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def verify_password_in_thread(stored_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop (see `_ARGON2_THREAD`)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ARGON2_THREAD, verify_password, stored_hash, password)


async def hash_password_in_thread(password: str) -> str:
    """`hash_password` off the event loop (see `_ARGON2_THREAD`)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ARGON2_THREAD, hash_password, password)


def new_secret() -> tuple[str, str]:
    """A fresh random secret and its SHA-256 (what we store)."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

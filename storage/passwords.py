"""Staff passwords: scrypt hashes in ``staff_user.password_hash``, verified in constant time.

The stored form is self-describing, ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``, so
the cost can be raised later without invalidating existing hashes (``needs_rehash``
tells a login to upgrade one). Only the standard library is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
# n=2**14, r=8: about 16 MB and a few tens of ms per check; slow for guessing, fine for a login.
LOG2_N = 14
R = 8
P = 1
KEY_BYTES = 32
MIN_LENGTH = 8
MAX_LENGTH = 1024  # scrypt time does not grow with length, but a megabyte "password" is not one


class PasswordRejected(ValueError):
    """A new password that does not meet the rules; the message is safe to show."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"a password may have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise PasswordRejected("a password cannot be only spaces")


def hash_password(password: str, *, log2_n: int = LOG2_N) -> str:
    check_strength(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, log2_n=log2_n, r=R, p=P)
    return "$".join([SCHEME, str(log2_n), str(R), str(P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; False for a missing or malformed hash (never raises)."""
    if not stored or not password or len(password) > MAX_LENGTH:
        # Still spend the time a real check takes, so a missing account does not answer faster.
        _scrypt(password or "", b"\0" * 16, log2_n=LOG2_N, r=R, p=P)
        return False
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != SCHEME:
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), log2_n=int(log2_n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str | None) -> bool:
    if not stored:
        return False
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != SCHEME or parts[1:4] != [str(LOG2_N), str(R), str(P)]


def fingerprint(stored: str | None) -> str:
    """A short, non-reversible tag of the current hash: sessions carry it, so changing a password ends them."""
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


def _scrypt(password: str, salt: bytes, *, log2_n: int, r: int, p: int) -> bytes:
    if not 10 <= log2_n <= 20 or not 1 <= r <= 32 or not 1 <= p <= 4:
        raise ValueError("scrypt parameters out of range")
    n = 1 << log2_n
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                          maxmem=256 * n * r * p)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

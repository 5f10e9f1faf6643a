"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters: registration authority (1), organisation type (1), the
6-digit administrative division code, the 9-character organisation code
(GB 11714, with its own check character) and the check character.
"""

from __future__ import annotations

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, ...
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (GB 32100-2015, mod 31)."""
    if len(first17) != 17:
        raise ValueError("need 17 characters")
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str | None) -> bool:
    """True when ``code`` has 18 characters of the alphabet and a correct check character."""
    if code is None or len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def org_code_check(first8: str) -> str:
    """The 9th character of an organisation code (GB 11714, mod 11)."""
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else ("0" if value == 11 else str(value))


def make_code(rng: random.Random, division_code: str, org_type: str = "91") -> str:
    """A valid code for an organisation registered in ``division_code`` (6 digits)."""
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org = body + org_code_check(body)
    # The organisation code's check may be "X", which the 31-character alphabet allows.
    first17 = org_type + division_code + org
    return first17 + check_char(first17)


def corrupt(code: str, rng: random.Random) -> str:
    """A code with a wrong check character (or a wrong length): invalid on purpose."""
    if rng.random() < 0.2:
        return code[:17]
    wrong = [c for c in ALPHABET if c != code[17]]
    return code[:17] + rng.choice(wrong)

"""Unified social credit codes (统一社会信用代码, GB 32100-2015): 18 characters, the last a
check character computed with weights over a 31-character alphabet (no I, O, S, V, Z)."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    return check_character(code[:17]) == code[17]


def make_credit_code(region_code: str, serial: int) -> str:
    """A valid code for generated data: 9 (enterprise, registered with the market regulator)
    1 (company), the 6-digit county code, then a serial in place of the organisation code."""
    first17 = f"91{region_code[:6]}{serial:09d}"[:17]
    return first17 + check_character(first17)

"""Check the codes of the vocabulary: ICD-10(-CM), SNOMED CT and LOINC.

See ``priors/README.md``, "Codes". Each checker returns what is wrong with a code (its format,
its partition or its check digit), or None when the code is valid.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "SNOMED_CONCEPT_PARTITIONS",
    "icd10_problem",
    "loinc_problem",
    "luhn_check_digit",
    "snomed_problem",
    "verhoeff_valid",
]

# ICD-10-CM: a letter, two characters, then optionally a dot and 1-4 characters (e.g. I82.40,
# T79.A2, S86.011A). WHO ICD-10 codes have the same shape.
_ICD10: Final = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
_SNOMED: Final = re.compile(r"[1-9][0-9]{5,17}")
_LOINC: Final = re.compile(r"([0-9]{1,7})-([0-9])")
# Verhoeff's dihedral group D5: multiplication table, permutation table and inverses.
_VERHOEFF_D: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
#: Partition identifiers of SNOMED CT *concept* ids: 00 (short format), 10 (extension).
SNOMED_CONCEPT_PARTITIONS: Final = ("00", "10")


def verhoeff_valid(digits: str) -> bool:
    """Return whether a string of digits ends with a correct Verhoeff check digit.

    SNOMED CT identifiers carry a Verhoeff check digit as their last digit.

    Examples
    --------
    >>> verhoeff_valid("429513001"), verhoeff_valid("429513002")
    (True, False)
    """
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def luhn_check_digit(digits: str) -> int:
    """Return the mod-10 (Luhn) check digit LOINC appends to the digits before its dash.

    Examples
    --------
    >>> luhn_check_digit("8310")
    5
    """
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def icd10_problem(code: str) -> str | None:
    """Return what is wrong with an ICD-10(-CM) code, or None when its format is valid."""
    if _ICD10.fullmatch(code):
        return None
    return (
        "expected an ICD-10 code: a capital letter, two digits or letters, then optionally a "
        f"dot and one to four more (e.g. 'I82.40'). Got {code!r} instead."
    )


def snomed_problem(code: str) -> str | None:
    """Return what is wrong with a SNOMED CT concept id, or None when it is valid.

    Checks the form (6 to 18 digits, no leading zero), the partition identifier (the two
    digits before the check digit: ``00`` or ``10`` for a concept) and the Verhoeff check
    digit.

    Examples
    --------
    >>> snomed_problem("429513001") is None
    True
    >>> print(snomed_problem("429513002"))
    the Verhoeff check digit of SNOMED CT id '429513002' is wrong (a mistyped digit?).
    """
    if not _SNOMED.fullmatch(code):
        return (
            "expected a SNOMED CT concept id: 6 to 18 digits, not starting with 0. "
            f"Got {code!r} instead."
        )
    partition = code[-3:-1]
    if partition not in SNOMED_CONCEPT_PARTITIONS:
        return (
            f"SNOMED CT id {code!r} has partition identifier {partition!r}; a concept id has "
            f"{' or '.join(repr(p) for p in SNOMED_CONCEPT_PARTITIONS)} (the two digits before "
            "the check digit)."
        )
    if not verhoeff_valid(code):
        return f"the Verhoeff check digit of SNOMED CT id {code!r} is wrong (a mistyped digit?)."
    return None


def loinc_problem(code: str) -> str | None:
    """Return what is wrong with a LOINC code, or None when it is valid (format, check digit).

    Examples
    --------
    >>> loinc_problem("8310-5") is None, loinc_problem("8310-6") is None
    (True, False)
    """
    match = _LOINC.fullmatch(code)
    if match is None:
        return (
            "expected a LOINC code: digits, a dash and a check digit (e.g. '8310-5'). "
            f"Got {code!r} instead."
        )
    expected = luhn_check_digit(match.group(1))
    if int(match.group(2)) != expected:
        return f"the mod-10 check digit of LOINC code {code!r} is wrong; expected {expected}."
    return None

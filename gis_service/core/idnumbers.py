"""Resident ID numbers (GB 11643-1999): check digit, birth date, legacy 15 digits.

Checked for a whole column at once (numpy over the digits), since a township
imports 100 000 households in a second or two. ``x`` becomes ``X``; a 15-digit
number of the first generation (born 19YYMMDD) becomes its 18-digit form.
Reasons never show the number itself, only its mask.
"""

from __future__ import annotations

import unicodedata
from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gis_service.core.privacy import mask_id_number

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))
PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
             43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
             83, 91}  # fmt: skip


def check_digit(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are given."""
    total = sum(int(d) * int(w) for d, w in zip(first17, WEIGHTS, strict=True))
    return str(CHECK[total % 11])


def normalise_id_numbers(
    values: NDArray[np.object_],
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """(normalised numbers, reason or None) for a column of text or None."""
    n = len(values)
    out = values.copy()
    reasons = np.full(n, None, dtype=object)
    present = ~pd.isna(values)
    if not present.any():
        return out, reasons
    text = pd.Series(values[present], dtype=object).map(
        lambda v: unicodedata.normalize("NFKC", str(v)).replace(" ", "").upper()
    )
    legacy = text.str.fullmatch(r"\d{15}").to_numpy(bool)
    if legacy.any():
        old = text[legacy]
        first17 = old.str[:6] + "19" + old.str[6:]
        text[legacy] = first17 + first17.map(check_digit)
    shaped = text.str.fullmatch(r"\d{17}[\dX]").to_numpy(bool)
    why = np.full(len(text), None, dtype=object)
    why[~shaped] = "must be 18 digits (the last may be X) or a 15-digit legacy number"
    if shaped.any():
        digits = np.array([list(t[:17]) for t in text[shaped]], dtype=np.int64)
        expected = CHECK[(digits * WEIGHTS).sum(axis=1) % 11]
        got = np.array([t[17] for t in text[shaped]])
        births = pd.to_datetime(
            text[shaped].str[6:14], format="%Y%m%d", errors="coerce"
        )
        province = digits[:, 0] * 10 + digits[:, 1]
        sub = np.full(int(shaped.sum()), None, dtype=object)
        today = pd.Timestamp(date.today())
        bad_birth = (
            births.isna().to_numpy() | (births < pd.Timestamp("1900-01-01")).to_numpy()
        )
        bad_birth |= (births > today).to_numpy()
        sub[bad_birth] = "the birth date in it is not a real date"
        sub[~np.isin(province, list(PROVINCES))] = "the region code is not a province's"
        sub[(expected != got) & pd.isna(sub)] = "wrong check digit"
        why[shaped] = sub
    masked = [
        None if r is None else f"ID number {mask_id_number(t)}: {r}"
        for t, r in zip(text, why, strict=True)
    ]
    reasons[present] = np.array(masked, dtype=object)
    out[present] = text.to_numpy(object)
    return out, reasons

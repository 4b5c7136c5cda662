"""Hazards: the 排查–整改–销号 ledger and the households to warn."""

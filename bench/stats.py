"""Summaries of repeated timings: medians and spread, never a single run."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np


def summary(values: Iterable[float]) -> dict:
    """n, p50, p95, min, max and mean of a list of measurements (seconds or any unit)."""
    data = np.asarray(list(values), dtype=float)
    if data.size == 0:
        return {"n": 0}
    return {
        "n": int(data.size),
        "p50": float(np.percentile(data, 50)),
        "p95": float(np.percentile(data, 95)),
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": float(data.mean()),
    }


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._start

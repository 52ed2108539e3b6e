"""CDNOW files for the predictive tests: inside the installed lifetimes wheel, found without
importing lifetimes (a test-only data dependency; the project never imports it)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest


def cdnow_path(name: str) -> Path:
    try:
        dist = importlib.metadata.distribution("lifetimes")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the lifetimes 0.11.3 wheel (test-only data dependency) is not installed")
    path = Path(str(dist.locate_file(f"lifetimes/datasets/{name}")))
    if not path.is_file():
        pytest.skip(f"{name} is not in the installed lifetimes wheel")
    return path


def read_cdnow_csv(name: str) -> npt.NDArray[np.void]:
    data: npt.NDArray[np.void] = np.genfromtxt(cdnow_path(name), delimiter=",", names=True)
    return data


@pytest.fixture(scope="session")
def cdnow_summary() -> npt.NDArray[np.void]:
    """cdnow_customers_summary.csv: ID, frequency, recency, T (weeks)."""
    return read_cdnow_csv("cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_with_transactions() -> npt.NDArray[np.void]:
    """cdnow_customers_summary_with_transactions.csv: ID, x, t_x, T, zbar."""
    return read_cdnow_csv("cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def cdnow_summary_path() -> Path:
    return cdnow_path("cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_master_path() -> Path:
    """CDNOW_master.txt: raw transactions (customer, YYYYMMDD, CDs, dollars)."""
    return cdnow_path("CDNOW_master.txt")

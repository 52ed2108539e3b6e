"""A deterministic Adult-like table: 7 quasi-identifiers with the Adult data's skew."""

from __future__ import annotations

import numpy as np
import pandas as pd

QUASI = ["age", "workclass", "education", "marital_status", "race", "sex", "native_country"]


def adult_like(rows: int, seed: int = 20240601) -> pd.DataFrame:
    """Rows with age, workclass, education, marital status, race, sex, country + 2 sensitive."""
    rng = np.random.default_rng(seed)
    work = ["Private", "Self-emp", "Local-gov", "State-gov", "Federal-gov", "Without-pay"]
    education = ["HS-grad", "Some-college", "Bachelors", "Masters", "Assoc", "11th", "Doctorate"]
    marital = ["Married", "Never-married", "Divorced", "Separated", "Widowed"]
    race = ["White", "Black", "Asian-Pac", "Amer-Indian", "Other"]
    country = ["United-States", "Mexico", "Philippines", "Germany", "Canada", "India", "China"]
    return pd.DataFrame(
        {
            "age": (rng.integers(17, 80, rows) // 5) * 5,
            "workclass": rng.choice(work, rows, p=[0.7, 0.11, 0.07, 0.05, 0.05, 0.02]),
            "education": rng.choice(education, rows, p=[0.32, 0.22, 0.17, 0.06, 0.08, 0.1, 0.05]),
            "marital_status": rng.choice(marital, rows, p=[0.46, 0.33, 0.14, 0.04, 0.03]),
            "race": rng.choice(race, rows, p=[0.85, 0.1, 0.03, 0.01, 0.01]),
            "sex": rng.choice(["Male", "Female"], rows, p=[0.67, 0.33]),
            "native_country": rng.choice(
                country, rows, p=[0.9, 0.03, 0.02, 0.015, 0.015, 0.01, 0.01]
            ),
            "income": rng.choice(["<=50K", ">50K"], rows, p=[0.76, 0.24]),
            "hours_per_week": rng.integers(1, 100, rows) // 5 * 5,
        }
    )

"""Predictive profiles (预测式画像): customer value, interests with decay, segments.

- :mod:`.summary` — the RFM summary as SQL on the engine (any sqlglot dialect);
- :mod:`.bgnbd`, :mod:`.gamma_gamma` — hand-written customer-value models (numpy/SciPy);
- :mod:`.clv` — fitting both, scoring customers, CLV and the holdout check;
- :mod:`.interests` — category affinity with exponential time decay (Arrow or SQL);
- :mod:`.segments` — k-means segments, named in words, labels stable across rebuilds;
- :mod:`.cards` — model cards stored with snapshots.

These are the high-risk kind of profile: every fitted model is described by a model card.
"""

"""Segments: k-means over standardized RFM and behaviour features, named and kept stable.

Customers are grouped by k-means (scikit-learn) on features that are log-scaled
(``log1p``, for the heavy tails of spend and counts) and standardized. ``k`` is chosen by
the silhouette score over a range, computed on a sample when there are many customers.
Each segment is named in words from its centroid (English and Chinese), e.g. "high
value, recent, frequent" / "高价值、近期活跃、高频".

A rebuild must not rename everybody's segment: the new centroids are matched to the
previous build's centroids (Hungarian matching, ``scipy.optimize.linear_sum_assignment``,
on distances in the new standardized space), and each new segment takes the label of the
previous segment it matched; unmatched ones get fresh labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from profileguard.model.predictive.summary import RFMSummary

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: feature -> (English when high, English when low, Chinese when high, Chinese when low)
FEATURE_WORDS: dict[str, tuple[str, str, str, str]] = {
    "monetary": ("high value", "low value", "高价值", "低价值"),
    "recency_days": ("lapsed", "recent", "久未购买", "近期活跃"),
    "frequency": ("frequent", "infrequent", "高频", "低频"),
    "views": ("browses a lot", "browses little", "常浏览", "少浏览"),
    "refund_rate": ("often refunds", "rarely refunds", "常退款", "少退款"),
}
#: a centroid this many standard deviations from the mean earns a word
WORD_THRESHOLD = 0.5
#: up to this many rows k-means runs single-threaded
SINGLE_THREAD_ROWS = 50_000


@dataclass(frozen=True)
class Segment:
    label: int
    size: int
    centroid: dict[str, float]  # in the features' original units
    name_en: str
    name_zh: str


@dataclass(frozen=True)
class Segmentation:
    """One build: each row's stable label and the segments."""

    features: tuple[str, ...]
    labels: IntArray
    segments: tuple[Segment, ...]
    k: int
    silhouette: float

    def segment(self, label: int) -> Segment:
        for seg in self.segments:
            if seg.label == label:
                return seg
        raise KeyError(label)


def rfm_features(summary: RFMSummary) -> dict[str, FloatArray]:
    """RFM features from a summary: time since last purchase, repeat count, mean spend."""
    return {
        "monetary": summary.monetary_value,
        "recency_days": summary.T - summary.recency,
        "frequency": summary.frequency,
    }


def _describe(z: FloatArray, names: Sequence[str]) -> tuple[str, str]:
    en: list[str] = []
    zh: list[str] = []
    for value, name in zip(z, names, strict=True):
        if abs(value) < WORD_THRESHOLD:
            continue
        hi_en, lo_en, hi_zh, lo_zh = FEATURE_WORDS.get(
            name, (f"high {name}", f"low {name}", f"{name}高", f"{name}低")
        )
        en.append(hi_en if value > 0 else lo_en)
        zh.append(hi_zh if value > 0 else lo_zh)
    return (", ".join(en) or "average"), ("、".join(zh) or "普通")


def _transform(raw: FloatArray) -> FloatArray:
    out: FloatArray = np.where(raw >= 0, np.log1p(np.abs(raw)), -np.log1p(np.abs(raw)))
    return out


def _choose_k(
    x: FloatArray, k_range: Sequence[int], seed: int, sample_size: int
) -> tuple[int, float]:
    rng = np.random.default_rng(seed)
    sample = x if len(x) <= sample_size else x[rng.choice(len(x), sample_size, replace=False)]
    best_k, best_score = -1, -np.inf
    for k in k_range:
        if k < 2 or k >= len(sample):
            continue
        labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(sample)
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(sample, labels, random_state=seed))
        if score > best_score:
            best_k, best_score = k, score
    if best_k < 0:
        raise ValueError("too few distinct customers to form two segments")
    return best_k, best_score


def build_segments(
    features: Mapping[str, npt.ArrayLike],
    *,
    k: int | None = None,
    k_range: Sequence[int] = range(2, 9),
    previous: Segmentation | None = None,
    seed: int = 0,
    sample_size: int = 5000,
) -> Segmentation:
    """Cluster the rows of ``features`` (name -> column); reuse ``previous`` labels."""
    names = tuple(features)
    raw = np.column_stack([np.asarray(features[n], dtype=np.float64) for n in names])
    if not np.all(np.isfinite(raw)):
        raise ValueError("segment features must be finite numbers")
    transformed = _transform(raw)
    mean = transformed.mean(axis=0)
    std = transformed.std(axis=0)
    std[std == 0] = 1.0
    x = (transformed - mean) / std
    score = float("nan")
    # small problems run fastest on one thread (OpenMP spin-waits cost more than they save,
    # badly so on a shared machine); large ones keep the library's default
    with threadpool_limits(limits=1 if len(x) <= SINGLE_THREAD_ROWS else None):
        if k is None:
            k, score = _choose_k(x, k_range, seed, sample_size)
        model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(x)
        raw_labels = np.asarray(model.labels_, dtype=np.int64)
        if np.isnan(score):
            idx = np.random.default_rng(seed).permutation(len(x))[:sample_size]
            score = float(silhouette_score(x[idx], raw_labels[idx], random_state=seed))
    centers_z = np.asarray(model.cluster_centers_, dtype=np.float64)
    centers_raw = np.vstack([raw[raw_labels == c].mean(axis=0) for c in range(k)])
    mapping = _match_labels(centers_z, previous, names, mean, std)
    labels = np.array([mapping[c] for c in range(k)], dtype=np.int64)[raw_labels]
    segments = []
    for c in range(k):
        en, zh = _describe(centers_z[c], names)
        segments.append(
            Segment(
                label=mapping[c],
                size=int(np.sum(raw_labels == c)),
                centroid={n: float(v) for n, v in zip(names, centers_raw[c], strict=True)},
                name_en=en,
                name_zh=zh,
            )
        )
    segments.sort(key=lambda s: s.label)
    return Segmentation(names, labels, tuple(segments), k, score)


def _match_labels(
    centers_z: FloatArray,
    previous: Segmentation | None,
    names: tuple[str, ...],
    mean: FloatArray,
    std: FloatArray,
) -> dict[int, int]:
    """New cluster index -> stable label, matched to the previous build's centroids."""
    k = len(centers_z)
    if previous is None or previous.features != names or not previous.segments:
        return {c: c for c in range(k)}
    prev_raw = np.array([[s.centroid[n] for n in names] for s in previous.segments])
    prev_z = (_transform(prev_raw) - mean) / std
    cost = np.linalg.norm(centers_z[:, None, :] - prev_z[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    mapping = {int(r): previous.segments[int(c)].label for r, c in zip(rows, cols, strict=True)}
    fresh = max(s.label for s in previous.segments) + 1
    for c in range(k):
        if c not in mapping:
            mapping[c] = fresh
            fresh += 1
    return mapping

"""Benchmark: personal-information scanning, profileguard vs Presidio's pattern recognizers.

Run: ``.venv/bin/python benchmarks/scan.py [--values 100000] [--presidio-values N]``

Both tools see the same labelled values (``scan_data.generate``: Chinese PI in structured
columns and in free text, plus negatives such as 18-digit order numbers and 14-digit
timestamps). profileguard scans column by column (``scan_column``, column names as
context); Presidio analyzes value by value with ``AnalyzerEngine`` built from its
predefined recognizers minus the spaCy NER recognizer, its phone recognizer set to region
CN (its default regions omit China), and an ``NlpEngine`` that tokenizes with
``spacy.blank("en")`` — no model download. Presidio is also timed calling the same
recognizers directly with ``nlp_artifacts=None`` (its fastest path, no context words).

A prediction counts when its type matches and its span overlaps a gold span. Presidio
types map PHONE_NUMBER→CN_MOBILE, CREDIT_CARD→BANK_CARD, EMAIL_ADDRESS→EMAIL,
IP_ADDRESS→IP_ADDRESS; it has no recognizer for the other (Chinese) types. The table is
printed and appended, dated, to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa

from profileguard.collect.recognizers import entity_types
from profileguard.collect.scanner import scan_column
from scan_data import Column, Span, generate

PRESIDIO_TYPES = {"PHONE_NUMBER": "CN_MOBILE", "CREDIT_CARD": "BANK_CARD",
                  "EMAIL_ADDRESS": "EMAIL", "IP_ADDRESS": "IP_ADDRESS"}
CHINESE_TYPES = ("CN_RESIDENT_ID", "CN_MOBILE", "BANK_CARD", "CN_ADDRESS", "PERSON_NAME",
                 "CN_LICENSE_PLATE", "CN_PASSPORT")
Predictions = dict[tuple[str, int], list[Span]]


def run_profileguard(columns: list[Column]) -> tuple[float, Predictions]:
    arrays = [(c.name, pa.array(c.values, pa.string())) for c in columns]
    scan_column(arrays[0][1][:10], arrays[0][0])  # warm caches (translation table, regexes)
    preds: Predictions = {}
    t0 = time.perf_counter()
    for name, arr in arrays:
        matches, _ = scan_column(arr, name)
        for m in matches:
            preds.setdefault((name, m.row), []).append((m.type, m.start, m.end))
    return time.perf_counter() - t0, preds


def _presidio() -> tuple[Any, list[Any]]:
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer

    blank = spacy.blank("en")

    class BlankNlpEngine(NlpEngine):  # type: ignore[misc]
        """Tokens from spaCy's blank English tokenizer; no NER model, nothing downloaded."""

        def load(self) -> None:
            return None

        def is_loaded(self) -> bool:
            return True

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

        def process_text(self, text: str, language: str) -> Any:
            doc = blank(text)
            return NlpArtifacts(entities=[], tokens=doc, tokens_indices=[t.idx for t in doc],
                                lemmas=[t.lower_ for t in doc], nlp_engine=self, language=language)

        def process_batch(self, texts: Any, language: str, batch_size: int = 1,
                          n_process: int = 1, **kwargs: Any) -> Any:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

    nlp = BlankNlpEngine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    for rec in list(registry.recognizers):
        if isinstance(rec, SpacyRecognizer | PhoneRecognizer):
            registry.remove_recognizer(rec.name)
    registry.add_recognizer(PhoneRecognizer(supported_regions=("CN",)))
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    return engine, list(registry.recognizers)


def run_presidio(columns: list[Column], limit: int) -> tuple[float, float, int, Predictions, list[str]]:
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    engine, recognizers = _presidio()
    items = _spread(columns, limit)
    engine.analyze("warm up 13812345678 a@b.com", language="en")
    preds: Predictions = {}
    t0 = time.perf_counter()
    for name, row, text in items:
        for r in engine.analyze(text, language="en", score_threshold=0.5):
            if r.entity_type in PRESIDIO_TYPES:
                preds.setdefault((name, row), []).append((PRESIDIO_TYPES[r.entity_type], r.start, r.end))
    engine_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _, _, text in items:
        for rec in recognizers:
            rec.analyze(text, rec.supported_entities, None)
    direct_time = time.perf_counter() - t0
    return engine_time, direct_time, len(items), preds, [type(r).__name__ for r in recognizers]


def _spread(columns: list[Column], limit: int) -> list[tuple[str, int, str]]:
    """Up to ``limit`` values, taking the same share of every column."""
    total = sum(len(c.values) for c in columns)
    out: list[tuple[str, int, str]] = []
    for c in columns:
        n = len(c.values) if limit >= total else max(1, len(c.values) * limit // total)
        out.extend((c.name, i, c.values[i]) for i in range(n))
    return out


def score(columns: list[Column], preds: Predictions, rows: set[tuple[str, int]] | None = None
          ) -> dict[str, tuple[int, float, float]]:
    """type → (gold count, recall, precision) over all values (or only ``rows``)."""
    gold_n: Counter[str] = Counter()
    gold_hit: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_hit: Counter[str] = Counter()
    for c in columns:
        for i, spans in enumerate(c.gold):
            if rows is not None and (c.name, i) not in rows:
                continue
            p = preds.get((c.name, i), [])
            for t, s, e in spans:
                gold_n[t] += 1
                gold_hit[t] += any(pt == t and ps < e and s < pe for pt, ps, pe in p)
            for pt, ps, pe in p:
                pred_n[pt] += 1
                pred_hit[pt] += any(pt == t and ps < e and s < pe for t, s, e in spans)
    return {t: (gold_n[t], gold_hit[t] / gold_n[t] if gold_n[t] else float("nan"),
                pred_hit[t] / pred_n[t] if pred_n[t] else float("nan")) for t in entity_types()}


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--values", type=int, default=100_000)
    ap.add_argument("--presidio-values", type=int, default=None,
                    help="run Presidio on a proportional subset (default: all values)")
    ap.add_argument("--no-append", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = ap.parse_args()

    columns = generate(args.values)
    n = sum(len(c.values) for c in columns)
    pg_time, pg_preds = run_profileguard(columns)
    pres_engine, pres_direct, pres_n, pres_preds, pres_recs = run_presidio(
        columns, args.presidio_values or n)
    pres_rows = {(name, row) for name, row, _ in _spread(columns, pres_n)}
    pg_scores = score(columns, pg_preds)
    pres_scores = score(columns, pres_preds, pres_rows)

    pg_rate, eng_rate, dir_rate = n / pg_time, pres_n / pres_engine, pres_n / pres_direct
    lines = [
        f"### Scan benchmark — {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: {_machine()}. Values: {n:,} (profileguard), {pres_n:,} (Presidio).",
        f"Presidio recognizers: {', '.join(pres_recs)}.",
        "",
        "| tool | seconds | values/s | speed-up |",
        "|---|---:|---:|---:|",
        f"| profileguard `scan_column` | {pg_time:.2f} | {pg_rate:,.0f} | — |",
        f"| Presidio AnalyzerEngine (pattern recognizers, blank tokenizer) | {pres_engine:.2f} | {eng_rate:,.0f} | {pg_rate / eng_rate:.1f}× |",
        f"| Presidio recognizers called directly (nlp_artifacts=None) | {pres_direct:.2f} | {dir_rate:,.0f} | {pg_rate / dir_rate:.1f}× |",
        "",
        "| type | gold | profileguard recall | precision | Presidio recall | precision |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for t in entity_types():
        g, r, p = pg_scores[t]
        _, pr, pp = pres_scores[t]
        lines.append(f"| {t} | {g:,} | {r:.4f} | {p:.4f} | {pr:.4f} | {pp:.4f} |")
    chinese_min = min(pg_scores[t][1] for t in CHINESE_TYPES)
    lines += ["", f"Lowest profileguard recall on the Chinese types: {chinese_min:.4f} "
              f"(target ≥ 0.98); speed-up over the AnalyzerEngine: {pg_rate / eng_rate:.1f}× "
              f"(target ≥ 20×), over direct recognizer calls: {pg_rate / dir_rate:.1f}×.", ""]
    report = "\n".join(lines)
    print(report)
    if not args.no_append:
        results = Path(__file__).resolve().parent / "RESULTS.md"
        prefix = "" if results.exists() else "# Benchmark results\n\n"
        with results.open("a", encoding="utf-8") as fh:
            fh.write(prefix + report + "\n")


if __name__ == "__main__":
    main()

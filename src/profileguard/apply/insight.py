"""Product insight: orders by segment × category, released with differential privacy.

Aggregate reports leave the analytics team, so they go through the DP release path
(:func:`profileguard.process.dp.release`) and spend the workspace's epsilon budget
(:class:`~profileguard.process.budget.BudgetStore`, dataset ``insight:snapshot_<id>``);
a report the budget cannot pay for is refused. Only orders of users whose ``analytics``
consent is in force are counted; the segment tag must pass the same criterion guard as
an audience (no sensitive or sensitive-inferring tag, fields declared for the purpose).
Categories come from the item catalogue (public); segment values are taken from the
snapshot, which the report says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from profileguard.apply.criteria import CriterionRefused
from profileguard.apply.guards import criterion_refusal
from profileguard.errors import ProfileguardError
from profileguard.model.snapshot import current
from profileguard.process.budget import BudgetStore
from profileguard.process.dp import DPRelease, release

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

SEP = " / "


@dataclass(frozen=True)
class InsightReport:
    segment: str
    measure: str
    dataset: str
    release: DPRelease
    segment_values_from_data: bool = True

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for v in self.release.values:
            seg, _, cat = v.group.partition(SEP)
            out.append({"segment": seg, "category": cat, "value": round(v.value, 2),
                        "noise_scale": round(v.noise_scale, 3)})
        return out

    def as_dict(self) -> dict[str, Any]:
        budget = self.release.budget
        return {"segment": self.segment, "measure": self.measure, "dataset": self.dataset,
                "epsilon": self.release.epsilon, "rows_used": self.release.rows_used,
                "rows_dropped_by_bounding": self.release.rows_dropped_by_bounding,
                "segment_values_from_data": self.segment_values_from_data,
                "budget": None if budget is None else {
                    "spent": budget.spent, "total": budget.total,
                    "remaining": budget.remaining},
                "rows": self.rows()}


def insight_report(svc: Services, *, segment: str = "rfm_segment",
                   measure: Literal["count", "sum"] = "count", epsilon: float = 0.5,
                   bounds: tuple[float, float] = (0.0, 2000.0), max_rows_per_user: int = 5,
                   purpose: str = "analytics", budget: BudgetStore | None = None,
                   seed: int | None = None) -> InsightReport:
    snap = current(svc.engine)
    if snap is None:
        raise ProfileguardError("no profile snapshot yet: run `profileguard build` first")
    if segment not in svc.engine.columns(snap.wide):
        raise ProfileguardError(f"segment tag {segment!r} is not in the current snapshot")
    refusal = criterion_refusal(svc.manifest, svc.catalog, segment, purpose)
    if refusal is not None:
        raise CriterionRefused(refusal, segment)
    decisions = svc.book.decisions(purpose)
    allowed = decisions.filter(decisions.column("allowed")).select(["user_pid"])
    svc.engine.load_arrow("pg_insight_users", allowed, mode="replace")
    try:
        data = svc.engine.query_arrow(f"""
            SELECT o.user_id AS user, coalesce(CAST(w."{segment}" AS VARCHAR), '<none>')
                   || '{SEP}' || coalesce(i.category, '<none>') AS grp,
                   CAST(o.paid_amount AS DOUBLE) AS amount
            FROM orders o
            JOIN pg_insight_users a ON a.user_pid = o.user_id
            JOIN "{snap.wide}" w ON w.user_id = o.user_id
            LEFT JOIN items i ON i.item_id = o.item_id""")
    finally:
        svc.engine.execute("DROP TABLE IF EXISTS pg_insight_users")
    categories = sorted(str(r[0]) for r in svc.engine.query_rows(
        "SELECT DISTINCT category FROM items WHERE category IS NOT NULL"))
    segments = sorted({str(g).split(SEP)[0] for g in data.column("grp").to_pylist()})
    keys = [f"{s}{SEP}{c}" for s in segments for c in categories]
    table = pa.table({"user": data.column("user"), "grp": data.column("grp"),
                      "amount": data.column("amount").fill_null(0.0)})
    dataset = f"insight:snapshot_{snap.id}"
    store = budget or BudgetStore(svc.ws.state_dir / "dp_budget.json")
    rel = release(table, measure, by="grp", epsilon=epsilon,
                  value="amount" if measure == "sum" else None,
                  bounds=bounds if measure == "sum" else None, user="user",
                  max_rows_per_user=max_rows_per_user, keys=keys, budget=store,
                  dataset=dataset, seed=seed)
    return InsightReport(segment, measure, dataset, rel)

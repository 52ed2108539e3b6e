"""Children's and minors' rules: CHILD (儿童个人信息网络保护规定, 2019) and MINOR
(未成年人网络保护条例, 2024)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule


@rule("CHILD-8-children-rules", law="CHILD", article="8–12", stage="govern", severity="high",
      en="Children's data without dedicated rules, guardian notice or shortest storage",
      zh="处理儿童个人信息未设专门规则、未告知监护人或未限定最短存储期",
      needs=('manifest', 'warehouse'))
def children_rules(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: when users under 14 are present: a children's rules URL, the
    notice states ``children_rules``, guardian consent at 14, and the birth date (which
    reveals them) has a retention.

    *Why it matters*: CHILD 8–12: dedicated rules and a person in charge, a guardian
    notice and consent with a refusal option, no unrelated collection, the shortest
    storage.

    *Example*: 8 users under 14 and no ``notice.children_rules_url``.

    *Fix*: publish the children's rules, link them, set retention for children's data.
    """
    m = ctx.manifest
    wh = ctx.warehouse
    if wh is None or wh.under_14 == 0:
        return
    count = Evidence("count", f"{wh.under_14} users under 14", "users.birth_date")
    if m.notice is None or not m.notice.children_rules_url:
        yield Hit("no children's rules are published", [ctx.at("notice"), count])
    birth = [(s, c, d) for s, cols in m.fields.items() for c, d in cols.items()
             if d.category == "user.demographic.date_of_birth" and d.transform != "drop"]
    for s, c, d in birth:
        if d.retention is None and m.retention.default is None:
            yield Hit(f"{s}.{c} identifies children and has no retention",
                      [ctx.at("fields", s, c), count], severity="medium")


@rule("MINOR-34-minors-protection", law="MINOR", article="34–37", stage="govern",
      severity="medium", en="Minors' data without least-privilege access or annual audit",
      zh="未成年人个人信息未落实最小授权访问或年度合规审计",
      needs=('manifest', 'warehouse'))
def minors_protection(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: when users under 18 are present: staff access on least privilege
    and a minors' compliance audit within a year.

    *Why it matters*: MINOR 34–37: support minors' rights, notify guardians of breaches,
    limit staff access to the minimum, audit the processing of minors' PI every year.

    *Example*: ``governance: {staff_access_least_privilege: false}``.

    *Fix*: role-based access to minors' data; yearly audit recorded as
    ``governance.minors_annual_audit``.
    """
    m = ctx.manifest
    wh = ctx.warehouse
    if wh is None or wh.under_18 == 0:
        return
    g = m.governance
    count = Evidence("count", f"{wh.under_18} users under 18", "users.birth_date")
    if not g.staff_access_least_privilege:
        yield Hit("staff access to minors' data is not least-privilege",
                  [ctx.at("governance"), count])
    if g.minors_annual_audit is None or ctx.as_of - g.minors_annual_audit > dt.timedelta(366):
        yield Hit(f"minors' audit: last {g.minors_annual_audit or 'never'}",
                  [ctx.at("governance"), count])

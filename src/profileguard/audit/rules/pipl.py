"""PIPL rules for collection, processing and modelling (个人信息保护法, 2021).

One small function per checkable obligation of LAW.md; governance and application rules
are in :mod:`.pipl_use`. Consent records the ConsentBook already refuses (pre-ticked,
bundled, older notice, no guardian) are reported as ``low``: the data is not processed on
them, but the people concerned should be asked again.
"""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import (
    basic_service,
    cn_weight,
    consent_based,
    is_cn_sensitive,
    key_columns,
    personal_fields,
    profiles_or_markets,
    separately_consented,
)
from profileguard.taxonomy import PIPL_BASES


@rule("PIPL-5-misleading-consent", law="PIPL", article="5", stage="collect", severity="high",
      en="Consent obtained by bundling, pre-ticking or dark patterns",
      zh="以一揽子授权、默认勾选或误导方式取得同意")
def misleading_consent(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``consent.bundled``, ``consent.pre_ticked``, ``consent.per_purpose``
    and ``consent.dark_patterns`` in the manifest.

    *Why it matters*: PIPL 5 requires lawful, legitimate, necessary and good-faith
    processing and forbids obtaining consent by misleading, fraud or coercion (误导、欺诈、
    胁迫). One consent for all purposes (一揽子授权) or a box ticked in advance is not a
    choice the person made.

    *Example*: ``consent: {per_purpose: false, bundled: true, pre_ticked: true}``.

    *Fix*: ask per purpose, with every box unticked, and list no dark patterns:
    ``consent: {per_purpose: true, bundled: false, pre_ticked: false}``.
    """
    c = ctx.manifest.consent
    if c.bundled or not c.per_purpose:
        yield Hit("consent is asked once for all purposes (一揽子授权, bundled)",
                  [ctx.at("consent", "bundled" if c.bundled else "per_purpose")])
    if c.pre_ticked:
        yield Hit("consent boxes are pre-ticked", [ctx.at("consent", "pre_ticked")])
    for i, pattern in enumerate(c.dark_patterns):
        yield Hit(f"consent flow uses a dark pattern: {pattern}",
                  [ctx.at("consent", "dark_patterns", i)])


@rule("PIPL-6-field-without-purpose", law="PIPL", article="6", stage="collect",
      severity="medium", en="Personal field collected with no purpose",
      zh="收集的个人信息字段无处理目的")
def field_without_purpose(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every personal field (category other than ``non_personal``)
    declares at least one purpose.

    *Why it matters*: PIPL 6 requires a definite, reasonable purpose directly related to
    the processing and collection limited to the minimum scope (最小范围); a field with no
    purpose is collected for nothing.

    *Example*: ``fields: {users: {hobby: {category: user.demographic, purposes: []}}}``.

    *Fix*: name the purposes the field serves, or stop collecting it (remove it from the
    source or declare ``transform: drop``).
    """
    for src, col, decl in personal_fields(ctx.manifest):
        if not decl.purposes:
            yield Hit(f"field {src}.{col} ({decl.category}) has no purpose",
                      [ctx.at("fields", src, col)])


@rule("PIPL-6-excessive-collection", law="PIPL", article="6", stage="collect", severity="high",
      en="Required field or permission beyond what its purpose needs",
      zh="强制收集超出目的所需的个人信息（过度收集）")
def excessive_collection(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: fields and app permissions marked ``required`` whose purposes do not
    include any purpose the service needs (``required_for_service``), or that are sensitive
    PI (CN level ``sensitive`` → high; ``sensitive_by_standard`` → medium).

    *Why it matters*: PIPL 6 limits collection to the minimum scope necessary for the
    purpose and forbids excessive collection (过度收集). Making sensitive data or data
    that serves no necessary purpose a condition of use is excessive.

    *Example*: ``fields: {users: {id_number: {category:
    user.government_id.national_identification_number, purposes: [account], required:
    true}}}``.

    *Fix*: set ``required: false`` and ask for the item only when the optional purpose is
    chosen; collect sensitive items only when strictly necessary and say why in the notice.
    """
    m = ctx.manifest
    needed = {p for p, d in m.purposes.items() if d.required_for_service}
    for src, col, decl in personal_fields(m):
        if not decl.required or col in key_columns(m, src) or decl.transform == "drop":
            continue
        weight = cn_weight(decl.category)
        if not needed.intersection(decl.purposes):
            yield Hit(f"field {src}.{col} is required but serves no purpose the service needs "
                      f"({', '.join(decl.purposes) or 'none'})", [ctx.at("fields", src, col)])
        elif weight:
            yield Hit(f"field {src}.{col} is required and is sensitive PI ({decl.category})",
                      [ctx.at("fields", src, col, "required")],
                      severity="high" if weight == "high" else "medium")
    for i, perm in enumerate(m.permissions):
        if not perm.required:
            continue
        weight = cn_weight(perm.category) if perm.category else None
        if not needed.intersection(perm.purposes):
            yield Hit(f"permission {perm.name} is required but serves no purpose the service "
                      "needs", [ctx.at("permissions", i, "required")])
        elif weight:
            yield Hit(f"permission {perm.name} is required and reads sensitive PI "
                      f"({perm.category})", [ctx.at("permissions", i, "required")],
                      severity="high" if weight == "high" else "medium")


@rule("PIPL-6-tag-purpose", law="PIPL", article="6", stage="model", severity="high",
      en="Tag used for a purpose its fields were not collected for",
      zh="标签用途超出其字段的收集目的",
      needs=('tag catalog',))
def tag_purpose(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: the tag catalog's lineage — every field a tag reads must be declared
    for the tag's purpose; a tag derived from a refused tag is refused too.

    *Why it matters*: PIPL 6 ties processing to the purpose announced at collection. A tag
    that reads a field for another purpose is processing beyond that purpose.

    *Example*: a tag with ``purpose: advertising`` reading ``events.query`` declared only for
    ``personalized_search``.

    *Fix*: add the purpose to the field (and to the notice, and ask consent) or change the
    tag's purpose or inputs.
    """
    for i, info in enumerate(ctx.tags.tags):
        for r in info.refusals:
            if r.reason in {"purpose", "dependency"}:
                yield Hit(r.message, [ctx.at("tags", i, "purpose")])


@rule("PIPL-13-legal-basis", law="PIPL", article="13", stage="process", severity="high",
      en="Purpose without a valid legal basis, or profiling on contract",
      zh="处理目的缺乏合法性基础，或以合同为由进行画像营销")
def legal_basis(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: each purpose's ``basis`` is one of PIPL 13's seven; purposes that
    profile or do automated marketing do not rest on ``contract``.

    *Why it matters*: PIPL 13 allows processing only on one of seven bases. Profiling and
    marketing are not necessary to perform a shopping contract, so they need consent.

    *Example*: ``purposes: {personalization: {basis: contract}}``.

    *Fix*: ``basis: consent`` with a withdrawal path, and ask for it separately from
    sign-up.
    """
    m = ctx.manifest
    for name, p in m.purposes.items():
        if p.basis not in PIPL_BASES:
            yield Hit(f"purpose {name} rests on {p.basis!r}, which is not a PIPL 13 basis",
                      [ctx.at("purposes", name, "basis")])
        elif p.basis == "contract" and profiles_or_markets(m, name):
            yield Hit(f"purpose {name} profiles or markets but rests on contract",
                      [ctx.at("purposes", name, "basis")])


@rule("PIPL-14-explicit-consent", law="PIPL", article="14", stage="collect", severity="high",
      en="Consent not informed, voluntary and explicit", zh="同意非充分知情、自愿、明确作出",
      needs=('manifest', 'consent log'))
def explicit_consent(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: the consent configuration (pre-ticked boxes are not explicit) and,
    with a workspace, the consent log: consent-based purposes with no record at all
    (high); records in force that are pre-ticked, bundled or given to a notice version
    older than the one that added the purpose (low: the ConsentBook does not count them).

    *Why it matters*: PIPL 14 requires consent given voluntarily and explicitly with full
    knowledge, and a new consent when the purpose, method or categories change.

    *Example*: ``consent: {pre_ticked: true}``; or personalization consents given to notice
    ``2024.1`` while ``2025.2`` added the purpose.

    *Fix*: untick every box; keep a consent log with the notice version; ask again the
    people whose consent predates the version that added what is now in use.
    """
    m = ctx.manifest
    if m.consent.pre_ticked:
        yield Hit("consent boxes are pre-ticked, so consent is not explicit",
                  [ctx.at("consent", "pre_ticked")])
    facts = ctx.consent
    if facts is None:
        return
    added: dict[str, int] = {}
    history = m.notice.history if m.notice else []
    seen: set[str] = set()
    for rank, v in enumerate(history):
        for p in v.purposes:
            if p not in seen:
                added[p] = rank
        seen.update(v.purposes)
    ranks = {v.version: i for i, v in enumerate(history)}
    for name in m.purposes:
        if not consent_based(m, name):
            continue
        if facts.records(name) == 0:
            yield Hit(f"purpose {name} rests on consent but the consent log has no record",
                      [ctx.at("purposes", name, "basis"),
                       Evidence("store", "0 consent records", "consents")])
            continue
        weak = sum(c.users for c in facts.granted(name) if c.pre_ticked or c.bundled)
        stale = sum(c.users for c in facts.granted(name)
                    if ranks.get(c.notice_version or "", -1) < added.get(name, 0))
        if weak:
            yield Hit(f"{weak} consents in force for {name} are pre-ticked or bundled (not "
                      "counted by the ConsentBook; ask again)",
                      [Evidence("count", f"{weak} users", "consents")], severity="low")
        if stale:
            yield Hit(f"{stale} consents in force for {name} predate the notice version that "
                      "added it (not counted; ask again)",
                      [Evidence("count", f"{stale} users", "consents")], severity="low")


@rule("PIPL-15-withdrawal", law="PIPL", article="15", stage="collect", severity="high",
      en="Consent cannot be withdrawn conveniently", zh="未提供便捷的撤回同意方式",
      needs=('manifest', 'snapshot'))
def withdrawal(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every consent-based purpose has a withdrawal path (the purpose's
    ``withdrawal`` or ``consent.withdrawal_surface``); withdrawing takes no more clicks than
    giving; with a build, nobody who withdrew still has tags of that purpose.

    *Why it matters*: PIPL 15 gives the right to withdraw and requires a convenient way
    (便捷) to do it; processing must stop after withdrawal.

    *Example*: ``consent: {clicks_to_give: 1, clicks_to_withdraw: 6}``.

    *Fix*: one switch per purpose in settings, as easy as giving; rebuild after
    withdrawals so the tags disappear.
    """
    m = ctx.manifest
    for name, p in m.purposes.items():
        if consent_based(m, name) and not (p.withdrawal or m.consent.withdrawal_surface):
            yield Hit(f"purpose {name} rests on consent but has no withdrawal path",
                      [ctx.at("purposes", name)])
    if m.consent.clicks_to_withdraw > m.consent.clicks_to_give:
        yield Hit(f"withdrawing takes {m.consent.clicks_to_withdraw} clicks, giving "
                  f"{m.consent.clicks_to_give}", [ctx.at("consent", "clicks_to_withdraw")],
                  severity="medium")
    snap = ctx.warehouse.snapshot if ctx.warehouse else None
    for purpose, n in (snap.withdrawn_profiled.items() if snap else ()):
        if n:
            yield Hit(f"{n} users withdrew {purpose} but still have {purpose} tags in "
                      f"snapshot {snap.id if snap else ''}",
                      [Evidence("table", f"{n} users", f"snap_{snap.id if snap else 0}_long")])


@rule("PIPL-16-refusal-of-service", law="PIPL", article="16", stage="collect", severity="high",
      en="Service refused to people who decline non-necessary processing",
      zh="以个人不同意非必要处理为由拒绝提供产品或服务")
def refusal_of_service(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: required permissions that also serve optional purposes, and
    purposes marked ``required_for_service`` that profile, market or rest on consent.

    *Why it matters*: PIPL 16 forbids refusing products or services because a person does
    not consent to processing that is not necessary for them.

    *Example*: ``permissions: [{name: contacts, purposes: [fulfilment,
    marketing_communications], required: true}]``.

    *Fix*: make the permission optional and ask for it only when the optional feature is
    used; only necessary purposes can be ``required_for_service``.
    """
    m = ctx.manifest
    optional = {p for p, d in m.purposes.items() if not d.required_for_service}
    for i, perm in enumerate(m.permissions):
        extra = sorted(optional.intersection(perm.purposes))
        if perm.required and extra:
            yield Hit(f"the app refuses service without the {perm.name} permission, which "
                      f"also serves optional purposes ({', '.join(extra)})",
                      [ctx.at("permissions", i, "required")])
    for name, p in m.purposes.items():
        if p.required_for_service and (profiles_or_markets(m, name) or p.basis == "consent"
                                       or (not basic_service(name) and name not in {
                                           "customer_service", "security", "legal_obligation",
                                           "fraud_prevention"})):
            yield Hit(f"purpose {name} is a condition of service but is not necessary for it",
                      [ctx.at("purposes", name, "required_for_service")])


@rule("PIPL-19-retention", law="PIPL", article="19", stage="process", severity="medium",
      en="Retention undefined or exceeded", zh="保存期限未规定或已超期",
      needs=('manifest', 'warehouse'))
def retention(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every stored personal field has a retention (its own,
    ``retention.default`` or the source's ``legal_hold``); with a workspace, the oldest
    record of each event-like source (one whose key is not the person) is within it.

    *Why it matters*: PIPL 19 keeps personal information only for the shortest period
    necessary (ECL 31 requires transaction records for at least 3 years).

    *Example*: no ``retention`` on any field and no ``retention.default``.

    *Fix*: set ``retention.default`` (e.g. ``3y``) and shorter retention where possible;
    delete or anonymize data older than it.
    """
    m = ctx.manifest
    missing = [f"{s}.{c}" for s, c, d in personal_fields(m)
               if d.transform != "drop" and d.retention is None and m.retention.default is None
               and not (m.sources.get(s) and m.sources[s].legal_hold)]
    if missing:
        yield Hit(f"{len(missing)} stored personal fields have no retention period: "
                  f"{', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}",
                  [ctx.at("retention"), ctx.at("fields", *missing[0].split(".", 1))])
    if ctx.warehouse is None:
        return
    for name, src in m.sources.items():
        facts = ctx.warehouse.sources.get(name)
        if facts is None or facts.oldest is None or not src.time or src.key == src.user:
            continue
        decl = m.fields.get(name, {}).get(src.time)
        limits = [d.as_timedelta() for d in (
            decl.retention if decl else None, m.retention.default,
            src.legal_hold.duration if src.legal_hold else None) if d is not None]
        limit = max((x for x in limits if x is not None), default=None)
        if limit is None:
            continue
        age = ctx.as_of - facts.oldest.date()
        if age > limit:
            yield Hit(f"source {name} holds data {age.days} days old, beyond its retention of "
                      f"{limit.days} days", [ctx.at("sources", name),
                                             Evidence("table", f"oldest {facts.oldest:%Y-%m-%d}",
                                                      f"{name}.{src.time}")], severity="high")


@rule("PIPL-21-entrusted-processing", law="PIPL", article="21", stage="process",
      severity="high", en="Entrusted processor without a complete contract",
      zh="委托处理未约定必要事项")
def entrusted(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recipients with ``role: processor`` have a signed contract stating
    purpose, duration, method, categories, protection measures, rights and duties and
    return-or-delete; sub-processing is not allowed without consent.

    *Why it matters*: PIPL 21 requires an agreement on these items with an entrusted party
    (受托人) and forbids sub-entrustment without the controller's consent.

    *Example*: ``recipients: [{name: LogisticsCo, role: processor}]`` with no ``contract``.

    *Fix*: sign a data-processing agreement and list its terms under ``contract.terms``.
    """
    needed = ("purpose", "duration", "method", "categories", "protection_measures",
              "rights_and_duties", "return_or_delete")
    for i, r in enumerate(ctx.manifest.recipients):
        if r.role != "processor":
            continue
        if r.contract is None or r.contract.signed is None:
            yield Hit(f"processor {r.name} has no signed contract", [ctx.at("recipients", i)])
            continue
        gaps = [t for t in needed if t not in r.contract.terms]
        if gaps:
            yield Hit(f"contract with {r.name} lacks {', '.join(gaps)}",
                      [ctx.at("recipients", i, "contract", "terms")], severity="medium")
        if r.contract.sub_processing_allowed:
            yield Hit(f"contract with {r.name} allows sub-processing",
                      [ctx.at("recipients", i, "contract")], severity="medium")


@rule("PIPL-29-sensitive-consent", law="PIPL", article="29", stage="process", severity="high",
      en="Sensitive PI processed on consent without separate consent",
      zh="基于同意处理敏感个人信息未取得单独同意",
      needs=('manifest', 'tag catalog'))
def sensitive_consent(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: stored fields of sensitive categories used for consent-based
    purposes are covered by a ``consent.separate`` entry; CN ``sensitive`` is high and
    ``sensitive_by_standard`` (GB/T 35273 App. B) medium. Also the tag catalog's refusals
    for sensitive inputs.

    *Why it matters*: PIPL 28–29: sensitive PI needs a specific purpose, sufficient
    necessity and, when processed on consent, a separate consent (单独同意).

    *Example*: ``events.lat`` (``user.location.precise``) declared for personalization with
    no separate consent.

    *Fix*: stop using the field for that purpose (generalize it, ``transform: drop``) or
    declare and collect a separate consent: ``consent.separate: [{purpose, categories}]``.
    """
    m = ctx.manifest
    grouped: dict[str, tuple[list[str], set[str]]] = {}
    for src, col, decl in personal_fields(m):
        weight = cn_weight(decl.category)
        if weight is None or decl.transform == "drop":
            continue
        for p in decl.purposes:
            if consent_based(m, p) and not separately_consented(m, p, decl.category):
                cols, purposes = grouped.setdefault(decl.category, ([], set()))
                if f"{src}.{col}" not in cols:
                    cols.append(f"{src}.{col}")
                purposes.add(p)
    for cat, (cols, purposes) in sorted(grouped.items()):
        first_src, first_col = cols[0].split(".", 1)
        level = "sensitive" if cn_weight(cat) == "high" else "sensitive by GB/T 35273 App. B"
        yield Hit(f"{cat} ({level}; {', '.join(cols[:5])}{' …' if len(cols) > 5 else ''}) is "
                  f"used for {', '.join(sorted(purposes))} without separate consent",
                  [ctx.at("fields", first_src, first_col, "purposes")],
                  severity="high" if cn_weight(cat) == "high" else "medium")
    for i, info in enumerate(ctx.tags.tags):
        for r in info.refusals:
            if r.reason == "sensitive":
                yield Hit(r.message, [ctx.at("tags", i)])


@rule("PIPL-28-sensitive-inference", law="PIPL", article="28", stage="model", severity="high",
      en="Tag infers sensitive PI for marketing or without necessity",
      zh="标签推断敏感个人信息用于营销或缺乏充分必要性",
      needs=('manifest', 'tag catalog'))
def sensitive_inference(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: tags with ``infers:`` a sensitive category (health, religion,
    whereabouts …) that serve advertising or automated marketing, or lack a separate
    consent; and sensitive fields collected for non-consent purposes (``review``: is it
    necessary?).

    *Why it matters*: PIPL 28 allows sensitive PI only for a specific purpose with
    sufficient necessity and strict protection; inferring pregnancy to sell ads is
    neither. GB/T 35273 notes tags that identify a person are PI themselves.

    *Example*: ``tags: [{name: pregnancy_likely, infers: user.health_and_medical, purpose:
    advertising}]``.

    *Fix*: remove the tag, or use it only for a purpose the person asked for with a separate
    consent; never for advertising.
    """
    m = ctx.manifest
    for i, info in enumerate(ctx.tags.tags):
        for r in info.refusals:
            if r.reason == "infers_sensitive":
                yield Hit(r.message, [ctx.at("tags", i, "infers")])
    for src, col, decl in personal_fields(m):
        if not is_cn_sensitive(decl.category):
            continue
        other = [p for p in decl.purposes if not consent_based(m, p)]
        profiling = [p for p in other if profiles_or_markets(m, p)]
        if profiling:
            yield Hit(f"{src}.{col} ({decl.category}) is used for {', '.join(profiling)} "
                      "without consent: profiling and marketing never make sensitive PI "
                      "necessary", [ctx.at("fields", src, col, "purposes")])
        elif other:
            yield Hit(f"{src}.{col} ({decl.category}) is collected for {', '.join(other)} "
                      "without consent: is it strictly necessary, and is the impact stated?",
                      [ctx.at("fields", src, col)], severity="review")

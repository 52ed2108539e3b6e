"""Campaign guardrails as pure functions: one message in, the rule that blocks it (or None).

Each rule names itself, its law and article, and why:

* ``consent`` — marketing messages need consent for ``marketing_communications``
  (ADV 43; an objection also ends direct marketing: GDPR 21);
* ``sender_identity`` / ``unsubscribe`` — every message shows who sends it and a one-click
  way out (ADV 43, 44); a campaign without them sends nothing;
* ``minor`` — no commercial marketing or inducement to users under 18 (MINOR 24, ALG 18);
* ``quiet_hours`` — nothing in the quiet window, default 22:00–08:00 local time;
* ``elderly_care`` — no urgency or scarcity wording to users aged 60+ (ALG 19; the word
  list is configurable, the law gives none);
* ``frequency_cap`` — at most N messages per user, channel and local day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from profileguard.apply.guards import Rule, is_elderly, is_minor
from profileguard.consent.decisions import Decision
from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Campaigns

#: urgency and scarcity wording kept away from elderly users (configurable)
ELDERLY_WORDS: tuple[str, ...] = (
    "限时", "仅剩", "最后", "马上", "立即", "抢购", "秒杀", "错过", "倒计时", "今天截止",
    "last chance", "only", "hurry", "now or never", "limited time", "act now", "ends today",
)


def parse_quiet_hours(text: str) -> tuple[dt.time, dt.time]:
    try:
        start, end = (dt.time.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError as exc:
        raise ProfileguardError(f"applications.campaigns.quiet_hours {text!r} is not "
                                "HH:MM-HH:MM (e.g. 22:00-08:00)") from exc
    return start, end


@dataclass(frozen=True)
class CampaignRules:
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(8, 0)
    frequency_cap_per_day: int = 1
    sender_identity: str | None = None
    unsubscribe: bool = True
    elderly_care: bool = True
    elderly_words: tuple[str, ...] = ELDERLY_WORDS
    timezone: str = "Asia/Shanghai"
    unsubscribe_text: str = "回T退订 / reply T to unsubscribe"
    purpose: str = "marketing_communications"
    channels: tuple[str, ...] = ()

    @classmethod
    def from_manifest(cls, cfg: Campaigns | None, **overrides: Any) -> CampaignRules:
        cfg = cfg or Campaigns()
        start, end = parse_quiet_hours(cfg.quiet_hours)
        rules = cls(quiet_start=start, quiet_end=end,
                    frequency_cap_per_day=cfg.frequency_cap_per_day,
                    sender_identity=cfg.sender_identity, unsubscribe=cfg.unsubscribe,
                    elderly_care=cfg.elderly_care, purpose=cfg.purpose,
                    channels=tuple(cfg.channels))
        return replace(rules, **overrides)

    def render(self, text: str) -> str:
        """The message as sent: sender identity first, one-click unsubscribe last."""
        return f"【{self.sender_identity}】{text} {self.unsubscribe_text}"


def in_quiet_hours(local: dt.time, start: dt.time, end: dt.time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # the window spans midnight


def consent_rule(decision: Decision) -> Rule | None:
    return None if decision.allowed else Rule("consent", "ADV", "43", decision.reason)


def identity_rule(rules: CampaignRules) -> Rule | None:
    if not rules.sender_identity:
        return Rule("sender_identity", "ADV", "43", "no sender identity configured "
                    "(applications.campaigns.sender_identity): every message must show it")
    if not rules.unsubscribe:
        return Rule("unsubscribe", "ADV", "44", "one-click unsubscribe is switched off; "
                    "every message must offer it")
    return None


def minor_rule(birth: dt.date | None, day: dt.date) -> Rule | None:
    if is_minor(birth, day):
        return Rule("minor", "MINOR", "24", "user is under 18: no commercial marketing or "
                    "inducement to minors (ALG 18)")
    return None


def quiet_hours_rule(local: dt.datetime, rules: CampaignRules) -> Rule | None:
    if in_quiet_hours(local.time(), rules.quiet_start, rules.quiet_end):
        return Rule("quiet_hours", "ADV", "43",
                    f"{local:%H:%M} local time is inside the quiet hours "
                    f"{rules.quiet_start:%H:%M}-{rules.quiet_end:%H:%M}")
    return None


def elderly_rule(birth: dt.date | None, day: dt.date, text: str, rules: CampaignRules
                 ) -> Rule | None:
    if not rules.elderly_care or not is_elderly(birth, day):
        return None
    lowered = text.lower()
    hits = [w for w in rules.elderly_words if w.lower() in lowered]
    if hits:
        return Rule("elderly_care", "ALG", "19", f"user is 60 or older: no urgency or "
                    f"scarcity wording ({', '.join(hits)})")
    return None


def frequency_rule(sent_today: int, rules: CampaignRules, channel: str) -> Rule | None:
    if sent_today >= rules.frequency_cap_per_day:
        return Rule("frequency_cap", "ADV", "43",
                    f"already {sent_today} message(s) on {channel} today; cap is "
                    f"{rules.frequency_cap_per_day} per user, channel and day")
    return None


def first_block(*, decision: Decision, birth: dt.date | None, local: dt.datetime, text: str,
                sent_today: int, channel: str, rules: CampaignRules) -> Rule | None:
    """The first rule that blocks this message, in a fixed order; None when it may go."""
    day = local.date()
    for rule in (identity_rule(rules), consent_rule(decision), minor_rule(birth, day),
                 quiet_hours_rule(local, rules), elderly_rule(birth, day, text, rules),
                 frequency_rule(sent_today, rules, channel)):
        if rule is not None:
            return rule
    return None

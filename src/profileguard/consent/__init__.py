"""consent room (see CONTRIBUTING.md): what each person decided, and "may we?"."""

from profileguard.consent.book import ConsentBook
from profileguard.consent.decisions import ConsentRecord, Decision, Preference, decide
from profileguard.consent.policy import ConsentPolicy, NoticeVersion, Recipient

__all__ = [
    "ConsentBook",
    "ConsentPolicy",
    "ConsentRecord",
    "Decision",
    "NoticeVersion",
    "Preference",
    "Recipient",
    "decide",
]

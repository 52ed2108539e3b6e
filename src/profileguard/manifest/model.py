"""The privacy-as-code manifest (``profileguard.yaml``) as pydantic models.

One declaration drives the pipeline and is what the auditor checks. Unknown keys are
errors everywhere (``extra="forbid"``); the loader turns every validation error into
``file:line:column: what is wrong; what would be valid``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from profileguard.manifest.durations import Duration, parse_duration

DurationField = Annotated[
    Duration,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: d.text, return_type=str),
]

Jurisdiction = Literal["CN", "EU"]
ColumnType = Literal["string", "integer", "decimal", "float", "boolean", "date", "timestamp"]
Transform = Literal["none", "pseudonymize", "mask", "drop", "truncate_ip", "generalize_age",
                    "generalize_gps", "hash"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)


class Localized(Strict):
    zh: str = ""
    en: str = ""

    def get(self, lang: str) -> str:
        return (self.zh if lang == "zh" else self.en) or self.en or self.zh


# -- organization and governance -----------------------------------------------------


class Officer(Strict):
    name: str
    contact: str


class Organization(Strict):
    name: str
    role: Literal["platform", "merchant"] = "merchant"
    jurisdictions: list[Jurisdiction] = Field(default_factory=lambda: list[Jurisdiction](["CN"]))
    app_category: str = "online_shopping"
    registered_users: int = 0
    monthly_active_users: int = 0
    annual_turnover_cny: float | None = None
    officer: Officer | None = None
    contact: str | None = None
    eu_representative: str | None = None


class DatedRecord(Strict):
    date: date
    note: str = ""


class PIARecord(Strict):
    date: date
    scope: list[str] = Field(default_factory=list)  # triggers covered, e.g. sensitive, cross_border
    document: str = ""


class AlgorithmFiling(Strict):
    number: str
    date: date


class Governance(Strict):
    pia: list[PIARecord] = Field(default_factory=list)
    audits: list[DatedRecord] = Field(default_factory=list)
    incident_plan: DatedRecord | None = None
    training: list[DatedRecord] = Field(default_factory=list)
    algorithm_filing: AlgorithmFiling | None = None
    records_of_processing: bool = False
    encryption_at_rest: bool = False
    access_control: bool = False
    independent_body: bool = False  # PIPL 58 / NDSR 62 large platforms
    annual_social_report: date | None = None
    staff_access_least_privilege: bool = False
    minors_annual_audit: date | None = None


# -- notice ---------------------------------------------------------------------------

NoticeItem = Literal[
    "controller", "contact", "purposes", "methods", "categories", "retention", "rights",
    "sensitive_necessity", "sensitive_impact", "recipients", "cross_border",
    "automated_decision_logic", "algorithm", "children_rules", "account_closure",
]


class NoticeVersion(Strict):
    version: str
    published: date | None = None
    purposes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class Notice(Strict):
    version: str
    url: str = ""
    published: date | None = None
    states: list[NoticeItem] = Field(default_factory=list)
    #: older versions first; what each version stated (a purpose or category that first
    #: appears in a later version is "added" by it — PIPL 14)
    history: list[NoticeVersion] = Field(default_factory=list)
    children_rules_url: str | None = None


# -- sources and fields ---------------------------------------------------------------


class LegalHold(Strict):
    duration: DurationField
    basis: str  # e.g. "ECL 31"


class Source(Strict):
    format: Literal["csv", "parquet", "jsonl", "table"]
    path: str | None = None  # file or glob, relative to the manifest
    url: str | None = None  # SQLAlchemy URL for format: table
    table: str | None = None
    encoding: Literal["utf-8", "gb18030", "auto"] = "auto"
    key: str | None = None  # primary-key column (canonical name)
    user: str | None = None  # column that identifies the person (canonical name)
    time: str | None = None  # event time column (canonical name)
    time_format: str | None = None  # strptime format, or epoch_s / epoch_ms
    start: date | None = None  # rows before this date go to quarantine
    columns: dict[str, str] = Field(default_factory=dict)  # source column -> canonical
    values: dict[str, dict[str, str]] = Field(default_factory=dict)  # column -> {src: canonical}
    legal_hold: LegalHold | None = None
    description: str = ""


class FieldDecl(Strict):
    category: str
    type: ColumnType = "string"
    purposes: list[str] = Field(default_factory=list)
    required: bool = False
    retention: DurationField | None = None
    transform: Transform = "none"
    #: mask undeclared personal information found in this column's values (e.g. a remark)
    mask: bool = False
    public: bool = False  # shown publicly (reviews, buyer shows) — PIPL 25
    encrypted: bool = False
    description: str = ""


# -- purposes, permissions, consent, recipients ---------------------------------------


class Purpose(Strict):
    basis: str
    description: str = ""
    profiling: bool | None = None  # default from the vocabulary
    automated_marketing: bool | None = None
    required_for_service: bool = False
    default_on: bool = False  # GDPR 25: optional purposes off by default
    significant_decisions: bool = False  # PIPL 24 / GDPR 22
    withdrawal: str | None = None  # where a person withdraws (surface), None = no path
    basis_eu: str | None = None


class Permission(Strict):
    name: Literal["contacts", "location_precise", "location_coarse", "camera", "microphone",
                  "photos", "notifications", "phone_state", "calendar", "clipboard"]
    purposes: list[str] = Field(default_factory=list)
    required: bool = False  # the app refuses service without it
    category: str | None = None


class SeparateConsent(Strict):
    purpose: str
    categories: list[str] = Field(default_factory=list)
    recipient: str | None = None


class ConsentConfig(Strict):
    per_purpose: bool = True
    bundled: bool = False
    pre_ticked: bool = False
    dark_patterns: list[str] = Field(default_factory=list)
    clicks_to_give: int = 1
    clicks_to_withdraw: int = 1
    withdrawal_surface: str | None = "settings"
    separate: list[SeparateConsent] = Field(default_factory=list)
    guardian_under: int = 14
    surfaces: list[str] = Field(default_factory=list)


class ProcessorContract(Strict):
    signed: date | None = None
    terms: list[str] = Field(default_factory=list)  # purpose, duration, method, categories, ...
    sub_processing_allowed: bool = False


class Recipient(Strict):
    name: str
    role: Literal["processor", "controller"]
    purposes: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)  # source.column
    country: str = "CN"
    transfer_mechanism: Literal["none", "assessment", "certification", "standard_contract"] = "none"
    contact: str | None = None
    method: str | None = None
    separate_consent: bool = False
    contract: ProcessorContract | None = None


# -- tags -----------------------------------------------------------------------------


class Tag(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    title: Localized = Field(default_factory=Localized)
    kind: Literal["descriptive", "predictive", "derived"]
    purpose: str
    source: str | None = None
    window: DurationField = Field(default_factory=lambda: parse_duration("all"))
    value: str | None = None
    filter: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict)
    explanation: Localized = Field(default_factory=Localized)
    infers: str | None = None
    model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    valid_for: DurationField = Field(default_factory=lambda: parse_duration("30d"))
    owner: str = ""
    description: str = ""


# -- applications ---------------------------------------------------------------------


class Recommendation(Strict):
    enabled: bool = True
    purpose: str = "personalization"
    non_personalized_option: bool = True
    off_switch: bool = True
    tag_deletion: bool = True
    disclosure: bool = True  # ALG 16: users told that algorithmic recommendation is used
    tags: list[str] = Field(default_factory=list)


class Search(Strict):
    enabled: bool = True
    personalized: bool = False
    purpose: str = "personalized_search"
    non_personalized_option: bool = True


class Advertising(Strict):
    enabled: bool = False
    purpose: str = "advertising"
    recipients: list[str] = Field(default_factory=list)
    exclude_minors: bool = True
    non_personalized_option: bool = True
    refusal: bool = True
    min_audience: int = 50
    tags: list[str] = Field(default_factory=list)


class Campaigns(Strict):
    enabled: bool = False
    purpose: str = "marketing_communications"
    channels: list[Literal["sms", "push", "email", "in_app"]] = Field(default_factory=list)
    quiet_hours: str = "22:00-08:00"
    frequency_cap_per_day: int = 1
    sender_identity: str | None = None
    unsubscribe: bool = True
    exclude_minors: bool = True
    elderly_care: bool = True
    popups_closable: bool = True


class Pricing(Strict):
    enabled: bool = False
    personalized: bool = False
    legitimate_factors: list[str] = Field(
        default_factory=lambda: ["coupon", "member_price", "ab_bucket", "channel"]
    )
    log_quotes: bool = True
    explanation_channel: bool = False


class Applications(Strict):
    recommendation: Recommendation | None = None
    search: Search | None = None
    advertising: Advertising | None = None
    campaigns: Campaigns | None = None
    pricing: Pricing | None = None


# -- rights, retention, audit ---------------------------------------------------------

RightKind = Literal["access", "export", "correct", "delete_tag", "delete", "object", "withdraw",
                    "explain", "restrict", "close_account"]


class Rights(Strict):
    endpoints: list[RightKind] = Field(
        default_factory=lambda: list[RightKind](["access", "export", "correct", "delete_tag", "delete",
                                 "object", "withdraw", "explain"])
    )
    deadline_days_cn: int = 15
    extra_conditions: list[str] = Field(default_factory=list)  # ECL 24: should stay empty
    delete_on_account_closure: bool = True
    explanation_channel: bool = True


class Retention(Strict):
    default: DurationField | None = None
    snapshots_kept: int = 3


class Suppression(Strict):
    rule: str
    reason: str = ""
    until: date | None = None


# -- releases (PIPL 73) ---------------------------------------------------------------


class Release(Strict):
    """A data set handed to others or published as de-identified or anonymized data."""

    name: str
    #: called anonymized (匿名化): treated as no longer personal information (PIPL 73(4))
    anonymized: bool = False
    recipient: str | None = None  # a declared recipient; None = published
    fields: list[str] = Field(default_factory=list)  # source.column released
    #: holds a per-person id that stays the same across rows, releases or joins
    stable_id: bool = False
    #: a key, mapping table or salt that restores identity exists (kept by anyone)
    relink_key: bool = False
    description: str = ""


class AuditConfig(Strict):
    ignore: list[Suppression] = Field(default_factory=list)
    tag_blocklist: list[str] = Field(default_factory=list)  # ALG 10
    officer_threshold_users: int = 1_000_000  # PIPL 52: configurable, not in the law
    materiality_threshold: float = 0.01


class Manifest(Strict):
    version: Literal[1] = 1
    organization: Organization
    notice: Notice | None = None
    governance: Governance = Field(default_factory=Governance)
    sources: dict[str, Source] = Field(default_factory=dict)
    fields: dict[str, dict[str, FieldDecl]] = Field(default_factory=dict)
    purposes: dict[str, Purpose] = Field(default_factory=dict)
    permissions: list[Permission] = Field(default_factory=list)
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    recipients: list[Recipient] = Field(default_factory=list)
    releases: list[Release] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    applications: Applications = Field(default_factory=Applications)
    rights: Rights = Field(default_factory=Rights)
    retention: Retention = Field(default_factory=Retention)
    audit: AuditConfig = Field(default_factory=AuditConfig)

    # -- lookups used everywhere ------------------------------------------------------
    def field(self, source: str, column: str) -> FieldDecl | None:
        return self.fields.get(source, {}).get(column)

    def tag(self, name: str) -> Tag | None:
        return next((t for t in self.tags if t.name == name), None)

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    @property
    def jurisdictions(self) -> list[str]:
        return list(self.organization.jurisdictions)

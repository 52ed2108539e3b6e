"""The pricing audit on a workspace: quotes and user attributes from the warehouse.

User attributes are derived at ``as_of`` from the users and orders tables — tenure band,
order-count band, membership, device, city tier, age band and gender — so the audit can
be run without exporting anything. Item categories come from the items table.
"""

from __future__ import annotations

import datetime as dt

from profileguard.audit.fairness import (
    PricingConfig,
    PricingResult,
    QuoteData,
    assemble,
    audit_pricing,
)
from profileguard.audit.fairness.quotes import Source
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services

ATTRIBUTES_SQL = """
WITH orders_per_user AS (
    SELECT user_id, count(*) AS n FROM orders
    WHERE status = 'paid' AND order_time <= TIMESTAMP '{as_of}' GROUP BY user_id
)
SELECT u.user_id,
       CASE WHEN date_diff('day', u.register_time, TIMESTAMP '{as_of}') < 30 THEN '<30d'
            WHEN date_diff('day', u.register_time, TIMESTAMP '{as_of}') < 180 THEN '30-180d'
            WHEN date_diff('day', u.register_time, TIMESTAMP '{as_of}') < 365 THEN '180d-1y'
            ELSE '1y+' END AS tenure_band,
       CASE WHEN coalesce(o.n, 0) = 0 THEN '0' WHEN o.n <= 2 THEN '1-2' WHEN o.n <= 5 THEN '3-5'
            WHEN o.n <= 11 THEN '6-11' ELSE '12+' END AS order_band,
       CASE WHEN u.is_member THEN 'member' ELSE 'non_member' END AS member,
       coalesce(u.device_os, 'unknown') AS device_os,
       CAST(coalesce(u.city_tier, 0) AS VARCHAR) AS city_tier,
       CASE WHEN date_diff('day', u.birth_date, TIMESTAMP '{as_of}') < 18 * 365.25 THEN '<18'
            WHEN date_diff('day', u.birth_date, TIMESTAMP '{as_of}') < 35 * 365.25 THEN '18-34'
            WHEN date_diff('day', u.birth_date, TIMESTAMP '{as_of}') < 60 * 365.25 THEN '35-59'
            WHEN u.birth_date IS NULL THEN 'unknown' ELSE '60+' END AS age_band,
       coalesce(u.gender, 'unknown') AS gender
FROM users u LEFT JOIN orders_per_user o USING (user_id)
"""


def workspace_quote_data(svc: Services, as_of: dt.datetime) -> QuoteData:
    engine = svc.engine
    for table in ("quotes", "users", "orders", "items"):
        if not engine.table_exists(table):
            raise ProfileguardError(f"the workspace has no {table!r} table; ingest it first "
                                    "(`profileguard ingest`) or pass --users USERS.csv")
    stamp = as_of.strftime("%Y-%m-%d %H:%M:%S")
    quotes = engine.query_arrow(
        "SELECT user_id, item_id, ts, CAST(price AS DOUBLE) AS price, "
        "CAST(coupon AS DOUBLE) AS coupon, member_price, ab_bucket, channel, "
        f"CAST(list_price AS DOUBLE) AS list_price FROM quotes WHERE ts <= TIMESTAMP '{stamp}'"
    ).to_pandas()
    users = engine.query_arrow(ATTRIBUTES_SQL.format(as_of=stamp)).to_pandas()
    users = users[users.user_id.isin(quotes.user_id.unique())]
    items = engine.query_arrow("SELECT item_id, category FROM items").to_pandas()
    return assemble(quotes, users, items, quotes_source=Source("workspace quotes"),
                    users_source=Source("workspace users (derived attributes)"),
                    items_source=Source("workspace items"))


def audit_workspace_pricing(svc: Services, as_of: dt.datetime,
                            config: PricingConfig | None = None) -> PricingResult:
    return audit_pricing(workspace_quote_data(svc, as_of), config)

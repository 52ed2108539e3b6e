"""The rule packs; importing this package registers every rule."""

from profileguard.audit.rules import (  # noqa: F401
    alg,
    ecl,
    gdpr,
    meta,
    minors,
    npi,
    pipl,
    pipl_govern,
    pipl_release,
    pipl_use,
)

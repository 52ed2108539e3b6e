"""schemathesis against the OpenAPI schema: no generated request gets a 5xx answer.

Cases are generated from /openapi.json and sent to the ASGI app in-process, as a platform
admin (with a subject token too, so subject endpoints get past the door) and as a DPO;
examples per operation are bounded so the whole run stays well under a minute.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from server_harness import Served

EXAMPLES = 4


def test_no_generated_request_gets_a_server_error(shared: Served) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", shared.app)
    identities = [
        {**shared.as_staff("admin"), **shared.as_subject("U0000009")},
        shared.as_staff("dpo"),
    ]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        for headers in identities:
            _check(op, headers, failures)
    assert operations >= 30
    assert not failures, "\n".join(failures[:10])


def _check(op: Any, headers: dict[str, str], failures: list[str]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process transport re-raises what the app raised
            failures.append(f"{case.method} {case.formatted_path} raised {exc!r}")
            return
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} "
                            f"{case.query} {case.body!r} → {response.status_code}: "
                            f"{response.text[:200]}")

    run()

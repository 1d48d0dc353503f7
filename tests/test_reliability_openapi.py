"""R6 with credentials: schemathesis generates requests from the server's own OpenAPI document
(``/mrsm/api/openapi.json``) for every operation, sends them with the token to a real Jupyter
server, and checks each answer: no 5xx, status codes, content types and bodies as documented.
Operations that start jobs are left out (a generated command would run). Per push a few
examples per operation; with ``--slow`` (or ``MRSM_TEST_SLOW=1``) 100.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

SLOW = bool(os.environ.get("MRSM_TEST_SLOW"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_generated_requests_get_documented_answers(api_server: str) -> None:
    base, token = api_server.split("/?token=")
    base = base.rstrip("/")
    headers = {"Authorization": f"token {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/mrsm/api/openapi.json", headers=headers)
    failures: list[tuple[str, Any]] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if "/jobs" in operation.path and operation.method.upper() != "GET":
            continue
        tried += 1

        @settings(
            max_examples=100 if SLOW else 8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=not SLOW,
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(base_url=f"{base}/mrsm/api", headers=headers, checks=CHECKS)

        try:
            run()
        # Every operation is tried and all failures are reported; schemathesis raises its
        # FailureGroup as a BaseExceptionGroup, which ``except Exception`` would let through.
        except (Exception, BaseExceptionGroup) as exc:
            failures.append((operation.label, exc))
    assert tried >= 10
    assert failures == [], "\n\n".join(f"{label}: {exc}" for label, exc in failures)

"""Property-based run of every operation of the live OpenAPI document (schemathesis 4).

A signed-in manager (bearer token) sends generated valid and invalid requests to each
operation: no answer may be a server error, and every answer must match what the OpenAPI
document says (status code, content type, body schema, headers). Bounded to 20 examples per
operation and mode, derandomised so a failure reproduces.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import auth
from api.models import User
from core.db import session_scope
from tests.api.conftest import Api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_EXAMPLES = 20


def test_every_operation_answers_as_documented(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    token = {"value": api.tokens["manager"]}

    def new_token() -> None:
        # the run may revoke the manager's own token (DELETE /tokens/{id}): mint another
        with session_scope(api.session_factory) as session:
            manager = session.get(User, api.user_ids["manager"])
            assert manager is not None
            token["value"], _ = auth.create_token(db_session=session, user=manager, name="st")

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    exercised: dict[str, set[int]] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                headers = {"Authorization": f"Bearer {token['value']}"}
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                exercised.setdefault(case.operation.label, set()).add(response.status_code)
                if response.status_code == 401 or (
                    case.method.upper() == "DELETE" and response.status_code == 204
                ):
                    new_token()

            try:
                run()
            except Unsatisfiable:
                # an operation without parameters or body has no invalid input to send
                assert mode == GenerationMode.NEGATIVE, operation.label
    # the run reached the operations' real work, not only their refusals
    assert 200 in exercised["GET /api/v1/calls"]
    assert 422 in exercised["GET /api/v1/calls"]
    assert 200 in exercised["GET /api/v1/healthz"]
    assert exercised["GET /api/v1/users"] == {403}  # a manager is not an admin
    for label in (
        "GET /api/v1/reports/compliance",
        "GET /api/v1/reviews",
        "GET /api/v1/followups",
        "GET /api/v1/review-queue",
        "POST /api/v1/lexicon/test",
    ):
        assert 200 in exercised[label], label
    assert exercised["POST /api/v1/lexicon/versions"] <= {400, 403, 422}  # lexicon: admins

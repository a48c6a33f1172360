"""Every operation of the HTTP API, fuzzed from its own OpenAPI description
(schemathesis): data that fits the description and data that does not, with a
widget's valid credentials and without any. No answer may be a 5xx, and every
answer must be one the description lists, in the shape it gives."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import WidgetFactory

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25  # per operation, mode and credentials: over 2,000 requests in all
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture(scope="module")
def fuzzed_widget(server):
    """One widget with a room and a message, whose id the fuzzer's paths use."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        widget = WidgetFactory(server, http)()
        room = widget.room([1, 2], room_type=1)
        widget.send(1, room, "hello fuzz")
        yield widget


def fuzz(server, prepare: Any) -> int:
    """Fuzz every operation; ``prepare(case)`` adds credentials. Returns the number
    of requests sent; any failed check fails the test with the case that found it."""
    api = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    sent = 0
    for result in api.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal sent
                headers = prepare(case)
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)
                sent += 1

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no fields)
    return sent


@pytest.mark.fuzz
def test_no_request_with_credentials_gets_a_5xx_or_an_undocumented_answer(
    server, fuzzed_widget
) -> None:
    secret = f"{fuzzed_widget.imba_id}:{fuzzed_widget.secret_key}".encode()
    basic = {"Authorization": "Basic " + base64.b64encode(secret).decode()}

    def with_credentials(case: Any) -> dict[str, str]:
        if case.path_parameters and "imba_id" in case.path_parameters:
            case.path_parameters["imba_id"] = fuzzed_widget.imba_id
        return basic

    count = fuzz(server, with_credentials)
    print("SENT", count)
    assert count >= 1_000


@pytest.mark.fuzz
def test_no_request_without_credentials_gets_a_5xx_or_an_undocumented_answer(server) -> None:
    assert fuzz(server, lambda case: {}) >= 1_000

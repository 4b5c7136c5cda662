"""Property-based fuzzing of the whole OpenAPI with schemathesis, in process.

Every operation gets generated requests (valid and invalid) against the app on a
scratch database holding a small demo township. A 5xx, a 4xx that is not
problem+json, or a 2xx body that breaks its declared schema fails the test. The
pass is small and derandomised for CI; ``GRIDGIS_FUZZ_EXAMPLES=200`` (and another
``GRIDGIS_FUZZ_SEED``) explores more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine, text

from gis_service.app.main import create_app
from layers.io.specs import LAYERS
from tests.conftest import bearer_for
from tests.service.conftest import DEMO_TOWNSHIP

EXAMPLES = int(os.environ.get("GRIDGIS_FUZZ_EXAMPLES", "4"))
SEED = int(os.environ.get("GRIDGIS_FUZZ_SEED", "20261123"))
# Built from the dict: loading over ASGI would start the lifespan and an engine.
SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())
# ``ok()`` raises on an operation schemathesis cannot read: the schema must be valid.
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _codes(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), {"t": DEMO_TOWNSHIP}).scalars())


def path_pools(engine: Engine) -> dict[str, list[Any]]:
    """Real values for path parameters, so requests reach the services."""
    return {
        "township": [DEMO_TOWNSHIP],
        "layer": list(LAYERS),
        "code": _codes(
            engine,
            "(SELECT code FROM grids WHERE township_code = :t LIMIT 2) UNION ALL "
            "(SELECT code FROM households WHERE township_code = :t LIMIT 2) UNION ALL"
            " (SELECT code FROM cadres WHERE township_code = :t LIMIT 2)",
        ),
        "grid": _codes(engine, "SELECT code FROM grids WHERE township_code = :t"),
        "cadre": _codes(engine, "SELECT code FROM cadres WHERE township_code = :t"),
        "demand_id": _codes(
            engine, "SELECT id FROM demands WHERE township_code = :t LIMIT 5"
        ),
        "dispute_id": _codes(
            engine, "SELECT id FROM disputes WHERE township_code = :t LIMIT 5"
        ),
    }


def assert_problem_json(response: Any, label: str) -> None:
    """Every 4xx is RFC 9457 problem+json with a status and a detail."""
    status = response.status_code
    if 400 <= status < 500:
        ctype = response.headers.get("content-type", [""])
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype.startswith("application/problem+json"), (label, status, ctype)
        body = response.json()
        assert body["status"] == status and body["detail"], (label, body)


def case_strategy(operation: Any, pools: dict[str, list[Any]], mode: Any) -> Any:
    """Cases with real path values (mostly) or fully generated ones."""
    names = [
        p.name
        for p in operation.path_parameters
        if pools.get(p.name)  # an empty pool (no disputes) falls back to generation
    ]
    fixed = st.fixed_dictionaries(
        {name: st.sampled_from(pools[name]) for name in names}
    )
    real = fixed.flatmap(
        lambda params: operation.as_strategy(
            generation_mode=mode, path_parameters=params
        )
    )
    return st.one_of(real, real, real, operation.as_strategy(generation_mode=mode))


def _negatable(operation: Any) -> bool:
    """Whether invalid input exists: a query, a body or a non-string path value."""
    typed_path = any(
        p.definition.get("schema", {}).get("type") != "string"
        for p in operation.path_parameters
    )
    return bool(len(operation.query) or operation.body or typed_path)


CASES = [
    pytest.param(op, mode, id=f"{op.label}-{mode.value}")
    for op in OPERATIONS
    for mode in schemathesis.GenerationMode
    if mode is schemathesis.GenerationMode.POSITIVE or _negatable(op)
]


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_server_error(
    operation: Any, mode: Any, demo_app: FastAPI, demo_engine: Engine
) -> None:
    pools = path_pools(demo_engine)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        derandomize="GRIDGIS_FUZZ_SEED" not in os.environ,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=["explicit", "generate"],
    )
    @given(case=case_strategy(operation, pools, mode))
    def run(case: Any) -> None:
        if isinstance(case.body, dict) and "time_limit_s" in case.body:
            # the solvers may legitimately run up to 60 s: keep the pass short
            case.body["time_limit_s"] = 0.2
        response = case.call(app=demo_app, headers=bearer_for(demo_engine))
        checks = [not_a_server_error]
        if mode is schemathesis.GenerationMode.POSITIVE:
            checks.append(response_schema_conformance)
        case.validate_response(response, checks=checks)
        assert_problem_json(response, operation.label)

    run()

"""GET /summary/counties with ``Prefer: respond-async`` is a job, like an import.

The job is run here by ``jobs.run_job_now`` (what a worker runs); test_jobs.py
runs real workers. The worker summarises in the scope of the user who asked (RLS,
as their request would have), not as the tables' owner.
"""

from __future__ import annotations

from unittest.mock import Mock

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from starlette.requests import Request

from gis_service.app.main import create_app
from gis_service.core import jobs
from gis_service.core.auth.users import add_user
from gis_service.core.db import make_engine
from gis_service.core.replicas import ReadRouter
from tests.conftest import app_settings, bearer_for
from tests.factories import TOWNSHIP, make_households, make_township

OTHER = "620623102000"


def _two_counties(engine: Engine) -> None:
    with Session(engine) as session:
        for code, county, x in ((TOWNSHIP, "天祝县", 102.5), (OTHER, "古浪县", 103.5)):
            make_township(session, code, name=f"镇{code}")
            make_households(session, [(x, 37.1), (x + 0.01, 37.1)], township=code)
            session.execute(
                text("UPDATE townships SET county = :c WHERE code = :t"),
                {"c": county, "t": code},
            )
        session.commit()


def test_the_province_summary_runs_as_a_job_when_asked(scratch_url: URL) -> None:
    url = scratch_url.render_as_string(False)
    engine = make_engine(url)
    _two_counties(engine)
    app = create_app(app_settings(scratch_url))
    with TestClient(app, headers=bearer_for(engine)) as client:
        inline = client.get("/summary/counties", params={"until": "2026-06-30"})
        assert inline.status_code == 200, inline.text
        queued = client.get(
            "/summary/counties",
            params={"until": "2026-06-30"},
            headers={"Prefer": "respond-async"},
        )
        assert queued.status_code == 202, queued.text
        job = queued.json()
        assert queued.headers["Location"] == f"/jobs/{job['id']}"
        assert (job["kind"], job["status"], job["township"]) == (
            "county_summary", "queued", None,
        )  # fmt: skip
        assert job["params"]["until"] == "2026-06-29T16:00:00+00:00"  # China time
        assert job["created_by"] == "test-admin"
        done = jobs.run_job_now(engine, job["id"])
        assert done["status"] == "succeeded", done
        assert done["result"] == {"counties": inline.json()}
        assert len(inline.json()) == 2
        assert client.get(queued.headers["Location"]).json()["status"] == "succeeded"
    engine.dispose()


def test_the_job_summarises_in_the_scope_of_who_asked(scratch_url: URL) -> None:
    url = scratch_url.render_as_string(False)
    engine = make_engine(url)
    _two_counties(engine)
    with Session(engine) as session:
        viewer = add_user(session, username="county-viewer", password="x" * 12,
                          role="viewer", county="天祝县")  # fmt: skip
        session.commit()
        queued = [
            jobs.submit(
                session,
                url=url,
                kind="county_summary",
                township=None,
                params={"until": None, "user_id": user_id},
            )
            for user_id in (viewer["id"], 999_999)
        ]
    scoped, gone = (jobs.run_job_now(engine, job["id"]) for job in queued)
    assert scoped["status"] == "succeeded", scoped
    assert [c["county"] for c in scoped["result"]["counties"]] == ["天祝县"]
    assert gone["status"] == "failed"
    assert "已不存在" in gone["problem"]["detail"]
    engine.dispose()


def test_a_read_that_queues_a_job_goes_to_the_primary() -> None:
    router = ReadRouter(Mock(spec=Engine), [Mock(spec=Engine)])

    def get(*headers: tuple[bytes, bytes]) -> Request:
        scope = {"type": "http", "method": "GET", "path": "/summary/counties",
                 "query_string": b"", "headers": list(headers)}  # fmt: skip
        return Request(scope)

    assert not router.wants_primary(get())
    assert router.wants_primary(get((b"prefer", b"respond-async")))

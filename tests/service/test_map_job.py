"""A coverage map rendered on a worker (``Prefer: respond-async``), for a grid leader.

The job runs in the scope of the user who asked (their grid's households only),
its file is served at ``/jobs/{id}/output`` to that user, and a grid leader sees
their own job while another leader does not.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from gis_service.app.main import create_app
from gis_service.core import jobs
from gis_service.core.db import make_engine
from tests.auth.factories_scope import make_world
from tests.conftest import app_settings
from tests.factories import TOWNSHIP

A = f"/townships/{TOWNSHIP}"


def test_a_leader_queues_a_coverage_map_and_downloads_it(scratch_url: URL) -> None:
    engine = make_engine(scratch_url.render_as_string(False))
    with Session(engine) as session:
        world = make_world(session)
    app = create_app(app_settings(scratch_url))
    leader, other = world.headers["leader_a"], world.headers["admin_b"]
    with TestClient(app, raise_server_exceptions=False) as client:
        queued = client.get(
            f"{A}/maps/coverage",
            params={"basemap": "none"},
            headers={**leader, "Prefer": "respond-async"},
        )
        assert queued.status_code == 202, queued.text
        job = queued.json()
        assert (job["kind"], job["created_by"]) == ("coverage_map", "leader_a")
        early = client.get(f"/jobs/{job['id']}/output", headers=leader)
        assert early.status_code == 404 and "yet" in early.json()["detail"]

        done = jobs.run_job_now(engine, job["id"])
        assert done["status"] == "succeeded", done
        assert done["result"]["output"] == f"/jobs/{job['id']}/output"
        page = client.get(done["result"]["output"], headers=leader)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        html = page.text
        assert "H001" in html and "H004" in html  # grid A: the leader's
        assert "H005" not in html and "H006" not in html  # grid B: not theirs
        assert client.get(f"/jobs/{job['id']}", headers=leader).status_code == 200
        assert client.get(f"/jobs/{job['id']}", headers=other).status_code == 404
        assert client.get(f"/jobs/{job['id']}/output", headers=other).status_code == 404
    engine.dispose()

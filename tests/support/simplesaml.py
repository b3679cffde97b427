"""A real SAML 2.0 IdP for the SAML login-option tests: Debian's SimpleSAMLphp 1.19, served by ``php -S`` on a
free loopback port from a private config directory (``SIMPLESAMLPHP_CONFIG_DIR``): Debian's ``config.php``
with the test's overrides appended, ``exampleauth:UserPass`` users with multi-valued attributes (rewritten
between requests: PHP reads them afresh), flat-file metadata for the hosted IdP and the Gatehouse SP, and an
IdP key and certificate made by the test.

:meth:`Idp.sign_in` plays the browser at the IdP (its login form, then the auto-posting form back to the ACS)
and returns what it would POST to Gatehouse. Without ``php`` (with php-xml and php-mbstring), SimpleSAMLphp
and ``xmlsec1`` the tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import datetime
import html
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from support.pg import in_ci
from support.servers import free_port

SSP = Path("/usr/share/simplesamlphp")
PASSWORD = "correct horse battery staple"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def require_tools() -> None:
    missing = [name for name in ("php", "xmlsec1") if shutil.which(name) is None]
    if not (SSP / "www" / "saml2" / "idp" / "SSOService.php").exists():
        missing.append("simplesamlphp")
    if not missing:
        modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout.lower()
        missing += [f"php-{name}" for name in ("xml", "mbstring") if name not in modules.split()]
    if missing:
        packages = "simplesamlphp php-cli php-xml php-mbstring xmlsec1"
        _unavailable(f"{', '.join(missing)} missing: apt-get install {packages}")


def _unavailable(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def key_and_certificate(common_name: str) -> tuple[str, str]:
    """A new RSA key and self-signed certificate (PEM, PEM)."""
    now = datetime.datetime.now(datetime.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _php(value: object) -> str:
    """A PHP literal for JSON-like data (strings, lists, dicts, booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, Mapping):
        return "[" + ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    raise TypeError(type(value))


class Idp:
    """A running SimpleSAMLphp IdP."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.base = f"http://127.0.0.1:{port}"
        self.entity_id = f"{self.base}/saml2/idp/metadata.php"
        self.metadata_url = self.entity_id
        self.key_pem = (root / "cert" / "idp.key").read_text()
        self.certificate_pem = (root / "cert" / "idp.crt").read_text()
        self.users: dict[str, dict[str, list[str]]] = {}
        self._sps: dict[str, dict[str, object]] = {}

    def metadata(self) -> str:
        response = httpx.get(self.metadata_url, timeout=10)
        assert response.status_code == 200, response.text[:500]
        return response.text

    def user(self, uid: str, *, groups: Sequence[str] = (), email: str | None = None, name: str | None = None) -> None:
        self.users[uid] = {
            "uid": [uid], "email": [email or f"{uid}@example.org"], "displayName": [name or uid.title()],
            "groups": list(groups),
        }  # fmt: skip
        self._write_users()

    def set_groups(self, uid: str, groups: Sequence[str]) -> None:
        self.users[uid]["groups"] = list(groups)
        self._write_users()

    def _write_users(self) -> None:
        users = {f"{uid}:{PASSWORD}": attributes for uid, attributes in self.users.items()}
        sources = {"admin": ["core:AdminPassword"], "example-userpass": {0: "exampleauth:UserPass", **users}}
        text = "<?php\n$config = " + _php_sources(sources) + ";\n"
        (self.root / "config" / "authsources.php").write_text(text)

    def register_sp(
        self, entity_id: str, acs_url: str, *, certificate: str | None = None, single_logout_url: str | None = None
    ) -> None:
        """What an administrator registers at the IdP: the SP's entity id and ACS (and its signing certificate),
        and for Single Logout the SP's SLO URL (HTTP-Redirect), with logout messages signed by the IdP."""
        entry: dict[str, object] = {
            "AssertionConsumerService": acs_url,
            "NameIDFormat": PERSISTENT,
            "attributes.NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
            "saml20.sign.assertion": True,
            "saml20.sign.response": False,
        }
        if certificate:
            entry["certData"] = "".join(line for line in certificate.splitlines() if "-----" not in line)
            entry["validate.authnrequest"] = True
            entry["validate.logout"] = True
        if single_logout_url:
            entry["SingleLogoutService"] = single_logout_url
            entry["sign.logout"] = True
        self._sps[entity_id] = entry
        body = "\n".join(
            f"$metadata[{_php(sp)}] = {_php(value)[:-1]}, 'authproc' => [10 => ['class' => 'saml:AttributeNameID', "
            f"'attribute' => 'uid', 'Format' => {_php(PERSISTENT)}]]];"
            for sp, value in self._sps.items()
        )
        (self.root / "metadata" / "saml20-sp-remote.php").write_text("<?php\n" + body + "\n")

    def sign_in(self, url: str, uid: str, password: str = PASSWORD) -> dict[str, str]:
        """Be the browser: follow Gatehouse's redirect to the IdP, sign in there, and return the form the IdP's
        page would POST back (its ``action`` under ``"action"``, then ``SAMLResponse`` and ``RelayState``)."""
        with httpx.Client(timeout=20, follow_redirects=True) as browser:
            page = browser.get(url)
            assert page.status_code == 200, page.text[:1000]
            state = re.search(r'name="AuthState" value="([^"]+)"', page.text)
            assert state is not None, page.text[:2000]
            done = browser.post(
                str(page.url).split("?")[0],
                data={"username": uid, "password": password, "AuthState": html.unescape(state.group(1))},
            )
        return post_back_form(done.text)


class IdpBrowser:
    """A browser that keeps its IdP session cookie between sign-ins (for Single Logout)."""

    def __init__(self) -> None:
        self.client = httpx.Client(timeout=20, follow_redirects=False)
        self.asked_password = False

    def close(self) -> None:
        self.client.close()

    def sign_in(self, url: str, uid: str, password: str = PASSWORD) -> dict[str, str]:
        """Follow Gatehouse's redirect to the IdP; sign in there only if the IdP asks (``asked_password``);
        return the form its page would POST back to the ACS."""
        page = self.client.get(url, follow_redirects=True)
        assert page.status_code == 200, page.text[:1000]
        state = re.search(r'name="AuthState" value="([^"]+)"', page.text)
        self.asked_password = state is not None
        if state is not None:
            page = self.client.post(
                str(page.url).split("?")[0], follow_redirects=True,
                data={"username": uid, "password": password, "AuthState": html.unescape(state.group(1))},
            )  # fmt: skip
        return post_back_form(page.text)

    def get(self, url: str) -> httpx.Response:
        """One step, redirects not followed (a redirect to Gatehouse goes to its test client)."""
        return self.client.get(url)


def post_back_form(page: str) -> dict[str, str]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action is not None, page[:2000]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {"action": html.unescape(action.group(1)), **{k: html.unescape(v) for k, v in fields.items()}}


def _php_sources(sources: Mapping[str, object]) -> str:
    parts = []
    for name, value in sources.items():
        if isinstance(value, Mapping) and 0 in value:
            inner = ", ".join(_php(v) if k == 0 else f"{_php(k)} => {_php(v)}" for k, v in value.items())
            parts.append(f"{_php(name)} => [{inner}]")
        else:
            parts.append(f"{_php(name)} => {_php(value)}")
    return "[" + ", ".join(parts) + "]"


@contextmanager
def running_idp(root: Path) -> Iterator[Idp]:
    """SimpleSAMLphp on a free loopback port with a private config under ``root``."""
    require_tools()
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    for name in ("config", "metadata", "cert", "log", "data", "tmp", "sessions"):
        (root / name).mkdir(parents=True, exist_ok=True)
    key, certificate = key_and_certificate("Gatehouse test IdP")
    (root / "cert" / "idp.key").write_text(key)
    (root / "cert" / "idp.crt").write_text(certificate)
    overrides = {
        "baseurlpath": base, "certdir": f"{root}/cert/", "loggingdir": f"{root}/log/", "datadir": f"{root}/data/",
        "tempdir": f"{root}/tmp/", "metadatadir": f"{root}/metadata/", "secretsalt": "gatehouse-test-salt",
        "auth.adminpassword": "not-used-admin", "enable.saml20-idp": True, "logging.handler": "file",
        "store.type": "phpsession", "session.phpsession.savepath": f"{root}/sessions",
        "module.enable": {"exampleauth": True, "core": True, "saml": True}, "timezone": "UTC",
        "metadata.sources": [{"type": "flatfile", "directory": f"{root}/metadata"}],
        "session.cookie.secure": False, "language.cookie.secure": False, "session.cookie.samesite": "Lax",
    }  # fmt: skip
    config = (Path("/etc/simplesamlphp/config.php").read_text()).rstrip()
    config += "\n" + "\n".join(f"$config[{_php(k)}] = {_php(v)};" for k, v in overrides.items()) + "\n"
    (root / "config" / "config.php").write_text(config)
    hosted = {
        "host": "__DEFAULT__", "privatekey": "idp.key", "certificate": "idp.crt", "auth": "example-userpass",
        "attributes.NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
    }  # fmt: skip
    (root / "metadata" / "saml20-idp-hosted.php").write_text(f"<?php\n$metadata['__DYNAMIC:1__'] = {_php(hosted)};\n")
    (root / "metadata" / "saml20-sp-remote.php").write_text("<?php\n")
    idp = Idp(root, port)
    idp._write_users()
    log = (root / "php.log").open("w")
    env = {"PATH": "/usr/bin:/bin", "SIMPLESAMLPHP_CONFIG_DIR": str(root / "config")}
    process = subprocess.Popen(
        # OPcache off: the tests rewrite the metadata files between requests, and OPcache (on by default in
        # Debian's php-cli for the built-in server) would keep serving a copy up to two seconds old.
        ["php", "-d", "opcache.enable=0", "-S", f"127.0.0.1:{port}", "-t", str(SSP / "www")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"php -S exited: {(root / 'php.log').read_text()[-2000:]}")
            try:
                if httpx.get(idp.metadata_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"SimpleSAMLphp did not answer: {(root / 'php.log').read_text()[-2000:]}")
            time.sleep(0.1)
        yield idp
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

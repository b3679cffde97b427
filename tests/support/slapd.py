"""A real OpenLDAP server for the LDAP login-option tests: Debian's ``slapd`` on a free loopback port, with a
private ``cn=config`` (``slapadd -n0``: back_mdb, the memberOf overlay, the core/cosine/inetOrgPerson schemas),
its users and groups loaded from an LDIF with ``ldapadd`` (so the overlay writes ``memberOf``), optionally
with StartTLS/LDAPS under a CA made for the test.

Without ``slapd`` and ``ldapadd`` (``apt-get install slapd ldap-utils``; ``.ci/run`` installs them) the tests
that need it are skipped, or fail when ``CI`` is set. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server

from support.pg import in_ci
from support.servers import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin secret"
SERVICE_DN = f"cn=gatehouse,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "service secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
PASSWORD = "correct horse battery staple"


def require_tools() -> None:
    """Skip (fail in CI) unless slapd and the LDAP tools are installed."""
    missing = [tool for tool in (SLAPD, SLAPADD) if not Path(tool).exists()]
    missing += [tool for tool in ("ldapadd",) if shutil.which(tool) is None]
    if missing:
        _unavailable(f"{', '.join(missing)} not found: apt-get install slapd ldap-utils")


def _unavailable(message: str) -> NoReturn:
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class Pki:
    """A CA and the server certificate it issued for 127.0.0.1 and localhost (PEM files)."""

    ca_pem: str
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_pki(directory: Path, names: Sequence[str] = ("localhost",)) -> Pki:
    now = datetime.datetime.now(datetime.UTC)

    def key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    ca_key, server_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gatehouse test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    sans = [x509.DNSName(name) for name in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem).decode()
    files = {"ca.pem": ca_pem, "server.pem": server.public_bytes(pem).decode()}
    files["server.key"] = server_key.private_bytes(
        pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    for name, text in files.items():
        (directory / name).write_text(text)
    return Pki(ca_pem, directory / "ca.pem", directory / "server.pem", directory / "server.key")


def _config_ldif(root: Path, pki: Pki | None) -> str:
    tls = ""
    if pki is not None:
        tls = (
            f"olcTLSCACertificateFile: {pki.ca_file}\nolcTLSCertificateFile: {pki.cert_file}\n"
            f"olcTLSCertificateKeyFile: {pki.key_file}\n"
        )
    schemas = "\n".join(f"include: file:///etc/ldap/schema/{name}.ldif" for name in ("core", "cosine", "inetorgperson"))
    return f"""dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {root}/slapd.pid
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcSizeLimit: 500

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: {ADMIN_DN}
olcRootPW: {ADMIN_PASSWORD}
olcDbDirectory: {root}/data
olcDbMaxSize: 33554432
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by * read

dn: olcOverlay={{0}}memberof,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {{0}}memberof
olcMemberOfRefInt: TRUE
"""


BASE_LDIF = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{SUFFIX}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: person
objectClass: simpleSecurityObject
cn: gatehouse
sn: service
userPassword: {SERVICE_PASSWORD}
"""


class Directory:
    """A running slapd and an admin connection to change its entries."""

    def __init__(self, port: int, pki: Pki | None, tls_port: int | None) -> None:
        self.port, self.pki, self.tls_port = port, pki, tls_port
        self.url = f"ldap://127.0.0.1:{port}"

    def admin(self) -> Connection:
        return Connection(Server(self.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)

    def add_user(
        self, uid: str, *, password: str = PASSWORD, mail: str | None = None, name: str | None = None,
        groups: Sequence[str] = (), under: str = PEOPLE, extra: dict[str, object] | None = None,
    ) -> str:  # fmt: skip
        """A person (inetOrgPerson) with ``uid``, member of ``groups`` (created as needed); their DN."""
        dn = f"uid={uid},{under}"
        attributes: dict[str, object] = {
            "uid": uid, "cn": name or uid.title(), "sn": "Tester", "mail": mail or f"{uid}@example.org",
            "userPassword": password, **(extra or {}),
        }  # fmt: skip
        with _closing(self.admin()) as connection:
            assert connection.add(dn, ["inetOrgPerson"], attributes), connection.result
        self.set_groups(dn, groups)
        return dn

    def set_groups(self, dn: str, names: Sequence[str]) -> None:
        """Make ``dn`` a member of exactly the groups ``names`` (groupOfNames under ou=groups)."""
        with _closing(self.admin()) as connection:
            connection.search(GROUPS, "(objectClass=groupOfNames)", attributes=["cn", "member"])
            existing = {str(entry.cn): [str(m) for m in entry.member] for entry in connection.entries}
            for name, members in existing.items():
                group = f"cn={name},{GROUPS}"
                if name in names and dn not in members:
                    assert connection.modify(group, {"member": [(MODIFY_ADD, [dn])]}), connection.result
                elif name not in names and dn in members:
                    others = [m for m in members if m != dn] or [ADMIN_DN]  # groupOfNames needs one member
                    assert connection.modify(group, {"member": [(MODIFY_REPLACE, others)]}), connection.result
            for name in names:
                if name not in existing:
                    group = f"cn={name},{GROUPS}"
                    assert connection.add(group, ["groupOfNames"], {"cn": name, "member": [dn]}), connection.result

    def set_password(self, dn: str, password: str) -> None:
        with _closing(self.admin()) as connection:
            assert connection.modify(dn, {"userPassword": [(MODIFY_REPLACE, [password])]}), connection.result

    def remove_attribute(self, dn: str, name: str) -> None:
        with _closing(self.admin()) as connection:
            assert connection.modify(dn, {name: [(MODIFY_DELETE, [])]}), connection.result

    def entry_uuid(self, dn: str) -> str:
        with _closing(self.admin()) as connection:
            connection.search(dn, "(objectClass=*)", "BASE", attributes=["entryUUID"])
            return str(connection.entries[0].entryUUID)


@contextmanager
def _closing(connection: Connection) -> Iterator[Connection]:
    try:
        yield connection
    finally:
        connection.unbind()


@contextmanager
def running_slapd(root: Path, *, tls: bool = False) -> Iterator[Directory]:
    """slapd on free loopback ports (plain LDAP with StartTLS when ``tls``, and LDAPS beside it), loaded with
    the base entries; stopped and its files left in ``root`` afterwards."""
    require_tools()
    (root / "config").mkdir(parents=True)
    (root / "data").mkdir()
    pki = make_pki(root) if tls else None
    (root / "config.ldif").write_text(_config_ldif(root, pki))
    made = subprocess.run(
        [SLAPADD, "-n0", "-F", str(root / "config"), "-l", str(root / "config.ldif")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    port, tls_port = free_port(), free_port() if tls else None
    urls = f"ldap://127.0.0.1:{port}/" + (f" ldaps://127.0.0.1:{tls_port}/" if tls_port else "")
    log = (root / "slapd.log").open("w")
    process = subprocess.Popen(
        [SLAPD, "-d", "0", "-F", str(root / "config"), "-h", urls], stdout=log, stderr=subprocess.STDOUT
    )
    directory = Directory(port, pki, tls_port)
    try:
        _wait(directory, process, root)
        (root / "base.ldif").write_text(BASE_LDIF)
        loaded = subprocess.run(
            ["ldapadd", "-x", "-H", directory.url, "-D", ADMIN_DN, "-w", ADMIN_PASSWORD, "-f", str(root / "base.ldif")],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert loaded.returncode == 0, loaded.stderr
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait(directory: Directory, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {(root / 'slapd.log').read_text()[-2000:]}")
        try:
            directory.admin().unbind()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

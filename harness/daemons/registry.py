"""A private OCI registry (Debian's docker-registry, distribution 2.8) on a loopback port, or on
another host address (RegistryConfig.host, e.g. a lab bridge its nodes pull from).

No registry is reachable from here and nodes are often air-gapped, so pull tests push the
fixture images to this one. Variants: plain HTTP, basic auth (htpasswd with bcrypt, the only
hash distribution accepts) and TLS with a throwaway CA whose server certificate names
127.0.0.1 as an IP SAN. `write_containerd_hosts` writes the hosts.toml containerd needs to
pull from it.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.containerd import config
from harness.daemons.process import Daemon, free_tcp_port, tcp_port_answers

LISTEN_HOST = "127.0.0.1"


@dataclass
class RegistryConfig:
    base_dir: Path
    auth: tuple[str, str] | None = None  # (user, password) for basic auth
    tls: bool = False
    port: int = 0  # 0: a free port
    host: str = LISTEN_HOST  # the address to listen on (e.g. a lab bridge for its nodes)


def make_tls_files(out: Path, ip: str = LISTEN_HOST) -> tuple[Path, Path, Path]:
    """A server certificate for `ip` signed by the CA in `out` (made there on first use and
    kept, so nodes that were given ca.crt keep trusting the registry across restarts);
    returns (ca.crt, tls.crt, tls.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, server_end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=7)

    def cert(subject, issuer, public_key, signing_key, extensions, days=7):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(now + datetime.timedelta(days=days))
        )
        for ext, critical in extensions:
            builder = builder.add_extension(ext, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harness test registry CA")])
    ca_crt, ca_key_file = out / "ca.crt", out / "ca.key"
    if ca_crt.exists() and ca_key_file.exists():
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
        if ca_cert.not_valid_after_utc < server_end:  # would expire before the server's
            ca_key_file.unlink()
    if not ca_key_file.exists():
        ca_key, ca_cert = ec.generate_private_key(ec.SECP256R1()), None
    ca_cert = ca_cert or cert(
        ca_name,
        ca_name,
        ca_key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                True,
            ),
        ],
        days=365,
    )
    server_cert = cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)]),
        ca_name,
        key.public_key(),
        ca_key,
        [
            (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
        ],
    )
    out.mkdir(parents=True, exist_ok=True)
    paths = ca_crt, out / "tls.crt", out / "tls.key"
    if not ca_key_file.exists():
        ca_key_file.write_bytes(ca_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        ca_key_file.chmod(0o600)
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths[2].chmod(0o600)
    return paths


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt

    # The minimum cost: the registry checks the hash on every request, and at the default cost
    # (12) each authenticated request took 0.26 s; a throwaway test password needs no more.
    salt = bcrypt.gensalt(rounds=4)
    return f"{user}:{bcrypt.hashpw(password.encode(), salt).decode()}\n"


def render_config(cfg: RegistryConfig, port: int, tls: tuple[Path, Path, Path] | None) -> dict:
    config = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(cfg.base_dir / "storage")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"{cfg.host}:{port}", "secret": "harness-test-registry"},
    }
    if tls:
        config["http"]["tls"] = {"certificate": str(tls[1]), "key": str(tls[2])}
    if cfg.auth:
        config["auth"] = {
            "htpasswd": {"realm": "harness-registry", "path": str(cfg.base_dir / "htpasswd")}
        }
    return config


def hosts_toml(url: str, ca: str | None = None, mirror_of: str | None = None) -> str:
    """containerd's hosts.toml for the registry at `url` (trusting the CA file `ca`, on the
    machine that reads it), or, with `mirror_of`, making it that registry's mirror."""
    return config.hosts_toml(f"https://{mirror_of}" if mirror_of else url,
                             [{"url": url, "capabilities": ["pull", "resolve"], "ca": ca}])


class Registry:
    """A running private registry. Use as a context manager, or start() / stop()."""

    def __init__(self, cfg: RegistryConfig):
        self.cfg = cfg
        self.port = cfg.port or free_tcp_port(cfg.host)
        self.ca: Path | None = None
        self.daemon = Daemon(
            name=f"docker-registry ({cfg.base_dir})",
            argv=["docker-registry", "serve", str(cfg.base_dir / "config.yml")],
            log_path=cfg.base_dir / "registry.log",
            ready=lambda: tcp_port_answers(cfg.host, self.port),
        )

    @property
    def host(self) -> str:
        """host:port, the registry part of image refs."""
        return f"{self.cfg.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.cfg.tls else 'http'}://{self.host}"

    def start(self) -> Registry:
        base = self.cfg.base_dir
        (base / "storage").mkdir(parents=True, exist_ok=True)
        tls = make_tls_files(base / "tls", self.cfg.host) if self.cfg.tls else None
        self.ca = tls[0] if tls else None
        if self.cfg.auth:
            (base / "htpasswd").write_text(htpasswd_line(*self.cfg.auth))
        config = render_config(self.cfg, self.port, tls)
        (base / "config.yml").write_text(yaml.safe_dump(config, sort_keys=True))
        self.daemon.start()
        return self

    def stop(self) -> None:
        self.daemon.stop()

    def write_containerd_hosts(self, config_dir: Path, mirror_of: str | None = None) -> Path:
        """hosts.toml under `config_dir`/<host:port>/ (containerd's registry config_path):
        plain HTTP where there is no TLS, else HTTPS trusting this registry's CA. With
        `mirror_of` (a registry host) it goes under that host's directory instead, making
        this registry its mirror: images named <mirror_of>/path:tag are pulled from here as
        path:tag and keep their names (a client asking for them by those names finds them)."""
        host_dir = config_dir / (mirror_of or self.host)
        host_dir.mkdir(parents=True, exist_ok=True)
        ca = None
        if self.ca:
            ca = host_dir / "ca.crt"
            ca.write_bytes(self.ca.read_bytes())
        (host_dir / "hosts.toml").write_text(hosts_toml(self.url, ca and str(ca), mirror_of))
        return host_dir / "hosts.toml"

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

"""The cluster's certificates and kubeconfigs, made with `cryptography` (no kubeadm).

What a kubeadm cluster has, minus the front proxy (no aggregated API servers here):
    ca.crt/key                       cluster CA, trusted by every component
    apiserver.crt/key                serving cert: service IP, bridge and loopback addresses,
                                     kubernetes.default.svc... names
    apiserver-kubelet-client.crt/key apiserver -> kubelet (logs, exec), group system:masters
    sa.key/sa.pub                    service-account token signing pair
    admin.conf                       kubernetes-admin, group system:masters
    controller-manager.conf          system:kube-controller-manager
    scheduler.conf                   system:kube-scheduler
    kube-proxy.conf                  system:kube-proxy
and per node: kubelet.conf (system:node:<name> in system:nodes, which the Node authorizer and
NodeRestriction admission expect) and kubelet serving cert/key for the node's name and address.

Keys are ECDSA P-256: every component accepts them and they are made in milliseconds.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)
CLUSTER_NAME = "harness"


@dataclass(frozen=True)
class Pair:
    """A certificate and its private key, PEM-encoded."""

    cert: bytes
    key: bytes

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        crt, key = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt.write_bytes(self.cert)
        key.write_bytes(self.key)
        key.chmod(0o600)
        return crt, key


class CertificateAuthority:
    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey):
        self.cert = cert
        self.key = key

    @classmethod
    def create(cls, common_name: str = "kubernetes") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + 10 * VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_cert_sign=True, crl_sign=True,
                    content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, crt: Path, key: Path) -> CertificateAuthority:
        return cls(
            x509.load_pem_x509_certificate(crt.read_bytes()),
            serialization.load_pem_private_key(key.read_bytes(), password=None),
        )

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def pair(self) -> Pair:
        return Pair(self.pem, _key_pem(self.key))

    def issue(
        self,
        common_name: str,
        *,
        organizations: tuple[str, ...] = (),
        dns_names: tuple[str, ...] = (),
        ip_addresses: tuple[str, ...] = (),
        client: bool = False,
        server: bool = False,
    ) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] * client
        usages += [ExtendedKeyUsageOID.SERVER_AUTH] * server
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, key_encipherment=True, key_cert_sign=False,
                    crl_sign=False, content_commitment=False, data_encipherment=False,
                    key_agreement=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        sans = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Pair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def service_account_keys() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for signing and verifying service-account tokens."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _key_pem(key), public


def kubeconfig(server: str, ca_pem: bytes, user: str, pair: Pair) -> str:
    """A kubeconfig with the CA and the client pair embedded, as kubeadm writes them."""
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(pair.cert),
                    "client-key-data": b64(pair.key),
                },
            }
        ],
        "contexts": [
            {"name": f"{user}@{CLUSTER_NAME}", "context": {"cluster": CLUSTER_NAME, "user": user}}
        ],
        "current-context": f"{user}@{CLUSTER_NAME}",
    }
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass(frozen=True)
class ControlPlanePKI:
    """Paths of the control plane's credentials in one directory."""

    directory: Path

    def __truediv__(self, name: str) -> Path:  # pki / "ca.crt"
        return self.directory / name

    @property
    def ca(self) -> CertificateAuthority:
        return CertificateAuthority.load(self / "ca.crt", self / "ca.key")


CONTROL_PLANE_USERS = {
    # kubeconfig stem: (CN, organisations)
    "admin": ("kubernetes-admin", ("system:masters",)),
    "controller-manager": ("system:kube-controller-manager", ()),
    "scheduler": ("system:kube-scheduler", ()),
    "kube-proxy": ("system:kube-proxy", ("system:node-proxier",)),
}


def create_control_plane(
    directory: Path, server: str, *, service_ip: str, addresses: tuple[str, ...]
) -> ControlPlanePKI:
    """Write the CA, apiserver, service-account and component credentials into `directory`.

    `server` is the URL the kubeconfigs name; `addresses` are the IPs the apiserver is reached
    at (loopback, the lab bridge address), all in its serving cert with the service IP.
    """
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca = CertificateAuthority.create()
    ca.pair().write(directory, "ca")
    ca.issue(
        "kube-apiserver",
        dns_names=(
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
        ),
        ip_addresses=(service_ip, *addresses),
        server=True,
    ).write(directory, "apiserver")
    ca.issue(
        "kube-apiserver-kubelet-client", organizations=("system:masters",), client=True
    ).write(directory, "apiserver-kubelet-client")
    private, public = service_account_keys()
    (directory / "sa.key").write_bytes(private)
    (directory / "sa.key").chmod(0o600)
    (directory / "sa.pub").write_bytes(public)
    for stem, (cn, orgs) in CONTROL_PLANE_USERS.items():
        pair = ca.issue(cn, organizations=orgs, client=True)
        conf = directory / f"{stem}.conf"
        conf.write_text(kubeconfig(server, ca.pem, cn, pair))
        conf.chmod(0o600)
    return ControlPlanePKI(directory)


@dataclass(frozen=True)
class NodeCredentials:
    """What one kubelet needs: its kubeconfig and its serving pair (all PEM / text)."""

    kubelet_conf: str
    serving: Pair
    ca_pem: bytes


def node_credentials(pki: ControlPlanePKI, server: str, node: str, address: str) -> NodeCredentials:
    ca = pki.ca
    client = ca.issue(f"system:node:{node}", organizations=("system:nodes",), client=True)
    serving = ca.issue(node, dns_names=(node,), ip_addresses=(address,), server=True)
    return NodeCredentials(
        kubeconfig(server, ca.pem, f"system:node:{node}", client), serving, ca.pem
    )


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

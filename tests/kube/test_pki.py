"""Cluster certificates: the identities Kubernetes' authenticators and authorizers expect."""

from __future__ import annotations

import base64
import ipaddress

import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.kube import pki


def _cert(data: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(data)


def _subject(cert: x509.Certificate) -> tuple[str, list[str]]:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return cn, orgs


def test_apiserver_cert_names_service_ip_addresses_and_service_names(tmp_path):
    """Pods reach the apiserver at 10.96.0.1 / kubernetes.default.svc, nodes at the bridge
    address: the serving cert's SANs must cover all of them."""
    cp = pki.create_control_plane(tmp_path, "https://10.251.9.1:6443", service_ip="10.96.0.1",
                                  addresses=("10.251.9.1", "127.0.0.1"))
    san = _cert((cp / "apiserver.crt").read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert ips == {"10.96.0.1", "10.251.9.1", "127.0.0.1"}
    assert "kubernetes.default.svc.cluster.local" in san.get_values_for_type(x509.DNSName)


def test_certs_chain_to_the_cluster_ca(tmp_path):
    """Every issued cert is signed by ca.crt (the --client-ca-file of the apiserver)."""
    cp = pki.create_control_plane(tmp_path, "https://127.0.0.1:6443", service_ip="10.96.0.1",
                                  addresses=("127.0.0.1",))
    ca = _cert((cp / "ca.crt").read_bytes())
    for name in ("apiserver.crt", "apiserver-kubelet-client.crt"):
        _cert((cp / name).read_bytes()).verify_directly_issued_by(ca)


def test_admin_kubeconfig_is_kubernetes_admin_in_system_masters(tmp_path):
    """RBAC's cluster-admin binding is to group system:masters."""
    cp = pki.create_control_plane(tmp_path, "https://127.0.0.1:6443", service_ip="10.96.0.1",
                                  addresses=("127.0.0.1",))
    conf = yaml.safe_load((cp / "admin.conf").read_text())
    assert conf["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    cert = _cert(base64.b64decode(conf["users"][0]["user"]["client-certificate-data"]))
    assert _subject(cert) == ("kubernetes-admin", ["system:masters"])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_node_credentials_match_the_node_authorizer(tmp_path):
    """The Node authorizer and NodeRestriction admission identify a kubelet by CN
    system:node:<name> in O system:nodes; its serving cert names the node's address."""
    cp = pki.create_control_plane(tmp_path, "https://127.0.0.1:6443", service_ip="10.96.0.1",
                                  addresses=("127.0.0.1",))
    creds = pki.node_credentials(cp, "https://127.0.0.1:6443", "hk-node1", "10.251.9.11")
    conf = yaml.safe_load(creds.kubelet_conf)
    client_cert = _cert(base64.b64decode(conf["users"][0]["user"]["client-certificate-data"]))
    assert _subject(client_cert) == ("system:node:hk-node1", ["system:nodes"])
    serving = _cert(creds.serving.cert)
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.251.9.11")]

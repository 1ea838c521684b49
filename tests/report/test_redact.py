"""harness.redact on the shapes secrets take in what the nodes hand back: each sample is how a
real file or log line writes it, and the check is that the secret is gone while the text
around it (and the file's format) stays."""

from __future__ import annotations

import json

import pytest
import yaml

from harness import redact

SECRET = "s3cr3t-Value_42"

SAMPLES = {
    "kubelet journal, bearer token": (
        f'I1201 round_trippers.go:466] curl -v -XGET -H "Authorization: Bearer {SECRET}" '
        "https://10.251.0.1:6443/api/v1/nodes"),
    "kubeconfig": (f"users:\n- name: kubelet\n  user:\n    client-key-data: {SECRET}\n"
                   f"    token: {SECRET}\n"),
    "docker config.json": json.dumps({"auths": {"10.251.0.1:5000": {"auth": SECRET}}}),
    "containerd config.toml": ('[plugins."io.containerd.grpc.v1.cri".registry.configs.'
                               '"10.251.0.1:5000".auth]\n  username = "smoke"\n'
                               f'  password = "{SECRET}"\n'),
    "hosts.toml header": f'[host."https://reg".header]\n  authorization = "Basic {SECRET}"\n',
    "env and flags": f"HARNESS_SMOKE_REGISTRY_PASSWORD={SECRET} kubeadm join --token={SECRET}",
    "JSON inside JSON (ansible-runner's stdout)": json.dumps(
        {"stdout": json.dumps({"password": SECRET})}),
    "URL": f"pulling https://smoke:{SECRET}@10.251.0.1:5000/v2/",
    "PEM key": f"-----BEGIN EC PRIVATE KEY-----\n{SECRET}\n-----END EC PRIVATE KEY-----\n",
    "PEM key cut short": f"key: |\n  -----BEGIN PRIVATE KEY-----\n  {SECRET}",
    "CI job environment (ansible-runner's command file)": json.dumps(
        {"env": {"AWS_SECRET_ACCESS_KEY": SECRET, "HARNESS_SSH_KEY_PASSPHRASE": SECRET}}),
    "inventory vars": (f"my_token: {SECRET}\nregistryPassword: '{SECRET}'\n"
                       f"db_credentials: {SECRET}\n"),
    "API key header": f"X-Api-Key: {SECRET}",
    "private key field": f'{{"private_key": "{SECRET}"}}',
    "a non-secret key's value holding one": f"max_tokens=password={SECRET}",
    "JUnit property (pytest's record_testsuite_property)":
        f'<property name="registry_password" value="{SECRET}" />',
    "Kubernetes env entry": f"env:\n- name: DB_PASSWORD\n  value: {SECRET}\n",
    "Kubernetes env entry as JSON": json.dumps({"name": "API_TOKEN", "value": SECRET}),
}


@pytest.mark.parametrize("sample", SAMPLES.values(), ids=SAMPLES.keys())
def test_every_shape_of_a_secret_is_redacted(sample):
    out = redact.text(sample)
    assert SECRET not in out
    assert redact.MASK in out


def test_service_account_and_bootstrap_tokens_are_redacted_anywhere():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl"
    out = redact.text(f"token {jwt} and kubeadm join 1.2.3.4:6443 abcdef.0123456789abcdef")
    assert jwt not in out and "abcdef.0123456789abcdef" not in out


def test_what_is_not_a_secret_stays():
    text = ("client-certificate-data: LS0tQ0VSVA==\nauthorization-mode: Node,RBAC\n"
            "token: null\nmax_tokens: 5\nimagePullSecrets:\n- name: regcred\n"
            "SSH_AUTH_SOCK=/tmp/ssh-agent.sock AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n"
            "ansible_ssh_private_key_file: /root/.ssh/id_ed25519\n"
            "--token-auth-file=/etc/kubernetes/tokens.csv --anonymous-auth=false\n"
            '<property name="kernel" value="6.1.0" />\n- name: LOG_LEVEL\n  value: debug\n')
    assert redact.text(text) == text


@pytest.mark.parametrize(("name", "secret"), [
    ("AWS_SECRET_ACCESS_KEY", True), ("HARNESS_SSH_KEY_PASSPHRASE", True),
    ("GITHUB_TOKEN", True), ("my_token", True), ("registry_password", True),
    ("registryPassword", True), ("identitytoken", True), ("auth", True),
    ("Authorization", True), ("api-key", True), ("privateKey", True), ("client-key-data", True),
    ("azure_client_secret", True), ("credentials", True),
    ("authorization-mode", False), ("max_tokens", False), ("token_file", False),
    ("secretName", False), ("SSH_AUTH_SOCK", False), ("AWS_ACCESS_KEY_ID", False),
    ("bootstrap_token_ttl", False)])
def test_a_name_is_secret_wherever_it_puts_the_word(name, secret):
    assert redact.secret_name(name) is secret


def test_redacted_files_still_parse():
    config = yaml.safe_load(redact.text(SAMPLES["kubeconfig"]))
    assert config["users"][0]["user"]["token"] == redact.MASK
    assert json.loads(redact.text(SAMPLES["docker config.json"]))["auths"]


def test_data_redacts_credential_keys_and_strings_but_keeps_its_shape():
    value = {"result": {"password": SECRET, "port": 5000, "token": None, "changed": True,
                        "msg": f"login with password: {SECRET}", "items": [{"auth": SECRET}]}}
    out = redact.data(value)
    assert SECRET not in json.dumps(out)
    assert out["result"]["port"] == 5000 and out["result"]["token"] is None
    assert out["result"]["changed"] is True


def test_file_rewrites_json_as_json_and_leaves_binary_alone(tmp_path):
    events = tmp_path / "1-event.json"
    events.write_text(json.dumps({"event_data": {"res": {"password": SECRET}}}))
    blob = tmp_path / "layer"
    blob.write_bytes(b"\xff\xfe" + SECRET.encode())
    redact.tree(tmp_path)
    assert json.loads(events.read_text())["event_data"]["res"]["password"] == redact.MASK
    assert blob.read_bytes() == b"\xff\xfe" + SECRET.encode()

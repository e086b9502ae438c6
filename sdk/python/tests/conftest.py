"""Fixtures that run the real clipdb server binary on loopback ports.

The binary is $CLIPDB_BIN, or target/debug/clipdb of this checkout
(`cargo build --bin clipdb`; sdk/test.sh builds it)."""
from __future__ import annotations

import datetime
import ipaddress
import os
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[3]


def clipdb_bin() -> str:
    path = os.environ.get("CLIPDB_BIN") or str(ROOT / "target" / "debug" / "clipdb")
    if not os.path.exists(path):
        pytest.exit(f"no clipdb binary at {path}; build it with: cargo build --bin clipdb", 2)
    return path


class Server:
    def __init__(self, data_dir: Path, args: List[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIPDB_")}
        self.log = open(data_dir.parent / (data_dir.name + ".log"), "wb")
        self.proc = subprocess.Popen(
            [clipdb_bin(), "serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
             "--data-dir", str(data_dir),
             *args],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                lines.put(raw.decode(errors="replace"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                self.stop()
                raise RuntimeError("clipdb did not say where it listens within 60 s")
            if line is None:
                self.stop()
                raise RuntimeError(f"clipdb serve exited: see {self.log.name}")
            if line.startswith("clipdb listening on "):
                self.address = line.split()[-1].strip()
                break

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with the bundled demo CLIP model; yields "127.0.0.1:PORT"."""
    s = Server(tmp_path_factory.mktemp("demo") / "data", [])
    yield s.address
    s.stop()


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    s = Server(tmp_path_factory.mktemp("keys") / "data",
               ["--model", "none", "--api-key", "write-key", "--read-only-api-key", "read-key"])
    yield s.address
    s.stop()


@pytest.fixture(scope="session")
def f32_default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose collections walk on f32 unless they ask for int8."""
    s = Server(tmp_path_factory.mktemp("f32") / "data",
               ["--model", "none", "--default-quantization", "f32"])
    yield s.address
    s.stop()


def make_certs(d: Path) -> Dict[str, Path]:
    """A CA and a server certificate for localhost / 127.0.0.1, made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("clipdb test CA"))
          .issuer_name(name("clipdb test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("localhost"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Any]]:
    d = tmp_path_factory.mktemp("tls")
    certs = make_certs(d)
    s = Server(d / "data", ["--model", "none", "--tls-cert", str(certs["cert"]),
                            "--tls-key", str(certs["key"])])
    yield {"address": s.address, **certs}
    s.stop()


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 images of coloured shapes and their captions (COCO layout)."""
    out = tmp_path_factory.mktemp("shapes")
    subprocess.run([clipdb_bin(), "demo-data", "--out", str(out), "--count", "20"], check=True,
                   stdout=subprocess.DEVNULL)
    return out


_n = 0


@pytest.fixture
def name() -> str:
    """A fresh collection name per test."""
    global _n
    _n += 1
    return f"t{os.getpid()}_{_n}"

"""A farm that is safe by default: TLS certificates for Dask's `distributed.security.Security`, and the check
that keeps `cltrace sweep --cluster` off plaintext connections to other machines.

A Dask scheduler runs whatever its clients submit, on every worker: with plaintext `tcp://` anyone who reaches
its port can run commands on every board, and the runs' capture files cross the network as they are. With TLS
(mutual: every side shows a certificate signed by the farm's own CA, Dask's TLS contexts require it) only
holders of a certificate of that CA can connect. make_certificates() writes such a CA and one certificate
each for the scheduler, the workers and the client (`cltrace farm`, cli/farm.py).
"""
import datetime
import ipaddress
import json
import os
from typing import Optional
from urllib.parse import urlsplit

from ..errors import CltraceError, UsageError

CA, SCHEDULER, WORKER, CLIENT = "ca", "scheduler", "worker", "client"
ROLES = (SCHEDULER, WORKER, CLIENT)
DAYS = 365


def cert_path(directory: str, role: str) -> str:
    return os.path.join(directory, f"{role}.pem")


def key_path(directory: str, role: str) -> str:
    return os.path.join(directory, f"{role}-key.pem")


def have_certificates(directory: str) -> bool:
    return all(os.path.exists(p) for r in (CA,) + ROLES for p in (cert_path(directory, r), key_path(directory, r)))


def _write_private(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_certificates(directory: str, hosts=("127.0.0.1", "localhost"), days: int = DAYS) -> None:
    """A CA (ca.pem, ca-key.pem) and, signed by it, scheduler, worker and client certificates with their keys
    (ROLE.pem, ROLE-key.pem; keys readable by the owner only). `hosts`: the names and addresses the scheduler's
    certificate is valid for (Dask does not check host names, the CA is what is checked; they are there for
    other TLS clients)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise CltraceError("making the farm's TLS certificates needs the 'cryptography' package: "
                           "pip install 'cltrace[cluster]'") from None
    os.makedirs(directory, mode=0o700, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k):
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    ca_key = key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cltrace farm CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    _write_private(key_path(directory, CA), pem_key(ca_key))
    with open(cert_path(directory, CA), "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    names = []
    for h in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    for role in ROLES:
        k = key()
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"cltrace farm {role}")]))
             .issuer_name(ca_name).public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False))
        if names:
            b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        _write_private(key_path(directory, role), pem_key(k))
        with open(cert_path(directory, role), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))


def security(directory: str, role: str = CLIENT):
    """distributed.security.Security for `role` of the farm whose certificates are in `directory`: TLS with
    the farm's CA, encryption required."""
    from distributed.security import Security
    missing = [p for p in (cert_path(directory, CA), cert_path(directory, role), key_path(directory, role))
               if not os.path.exists(p)]
    if missing:
        raise CltraceError(f"{missing[0]} does not exist: --cluster-tls names the directory that 'cltrace farm' "
                           f"made (ca.pem, {role}.pem, {role}-key.pem)")
    kw = {"tls_ca_file": cert_path(directory, CA), "require_encryption": True,
          f"tls_{role}_cert": cert_path(directory, role), f"tls_{role}_key": key_path(directory, role)}
    return Security(**kw)


# -- the plaintext check -------------------------------------------------------------------------------------
def scheduler_address(cluster: str) -> str:
    """The scheduler's address behind --cluster: the address itself, or the one in its --scheduler-file."""
    if os.path.isfile(cluster):
        try:
            with open(cluster) as f:
                return str(json.load(f).get("address", ""))
        except (OSError, ValueError, AttributeError):
            return ""
    return cluster


def is_loopback(host: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1), read from the text alone: no name is
    looked up, nothing is connected to."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


INSECURE_HINT = ("use TLS: 'cltrace farm' makes the certificates and starts a scheduler that requires them, then "
                 "--cluster tls://HOST:PORT --cluster-tls DIR (docs/farm.md); or, on a private network you trust, "
                 "give --insecure-cluster")


def check_plaintext(cluster: str, insecure: bool) -> Optional[str]:
    """None when the connection to `cluster` is acceptable; else raises UsageError saying why (a plaintext
    tcp:// scheduler on another machine without --insecure-cluster). Returns the scheme it will use."""
    address = scheduler_address(cluster)
    if not address:          # an unreadable --scheduler-file: connecting says what is wrong with it
        return None
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    scheme = parts.scheme or "tcp"
    if scheme != "tcp":
        return scheme
    host = parts.hostname or ""
    if is_loopback(host) or insecure:
        return scheme
    where = f"--cluster {cluster}" + (f" (its address {address})" if address != cluster else "")
    raise UsageError(f"{where} is plaintext TCP to another machine: anyone who reaches that scheduler can run any "
                     f"command on every board's worker, and the runs' capture files would cross the network "
                     f"unencrypted; {INSECURE_HINT}")

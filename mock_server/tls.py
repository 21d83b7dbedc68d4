"""HTTPS: a certificate for 127.0.0.1, localhost and ::1 signed by a CA made at start-up, or the user's own.

Azure's SDKs send a bearer token over HTTPS only (azure-core refuses plain HTTP for it), so a test of such
code needs the mock on HTTPS, and a CA its client can trust: trustme makes both, in memory, and they are
written to a directory of their own (the CA as `ca.pem`, the key and certificate chain as `server.pem`) for
uvicorn to load and the client to trust. The CA is also served at `GET /__mock__/ca.pem`.
"""

from __future__ import annotations

import atexit
import dataclasses
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import Settings

# The names a client on this machine reaches the mock by; a container's port published on the host too.
IDENTITIES = ("127.0.0.1", "localhost", "::1")


class TLSError(ValueError):
    """TLS settings that cannot be served; the message says why."""


def prepare(settings: Settings) -> Settings:
    """The settings with the files TLS needs: `--tls` alone gets a new CA and a certificate it signed (written
    under `tls_ca_file`'s directory, or a temporary one removed at exit); `--tls-cert` is used as given."""
    if settings.tls_cert is not None:
        for given in (settings.tls_cert, settings.tls_key, settings.tls_ca_file):
            if given is not None and not given.is_file():
                raise TLSError(f"TLS: no such file: {given}")
        return settings if settings.tls else dataclasses.replace(settings, tls=True)
    if settings.tls_key is not None:
        raise TLSError("--tls-key needs --tls-cert, the certificate it is the key of")
    if not settings.tls:
        return settings
    import trustme

    if settings.tls_ca_file is not None:
        folder = settings.tls_ca_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        ca_file = settings.tls_ca_file
    else:
        folder = Path(tempfile.mkdtemp(prefix="threads-mock-tls-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        ca_file = folder / "ca.pem"
    authority = trustme.CA(organization_name="threads-mock")
    leaf = authority.issue_cert(*IDENTITIES, common_name="threads-mock")
    server_file = folder / "server.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    # The key with the chain in one file, readable by this user alone.
    server_file.touch(mode=0o600)
    leaf.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return dataclasses.replace(settings, tls_cert=server_file, tls_key=None, tls_ca_file=ca_file)


def client_context(ca_file: Path | None) -> ssl.SSLContext | None:
    """An SSL context that trusts the mock's CA (None: no CA file, plain HTTP or the system's trust)."""
    return None if ca_file is None else ssl.create_default_context(cafile=str(ca_file))

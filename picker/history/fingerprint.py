"""Who measured what: a stable fingerprint of this machine and the identity of a model file.

A measurement is only reused on the same machine (CPU, RAM, GPUs) and for the
same bytes of model (sha256, or the Hub revision the file came from).
"""

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from picker.hardware.model import HardwareSnapshot

_RAM_GRANULE_BYTES = 256 * 1024 * 1024  # MemTotal moves by a few MiB between kernels
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_CHUNK_BYTES = 8 * 1024 * 1024


# Settings that change speed; anything else in a settings dict does not split the history.
SPEED_SETTINGS: tuple[str, ...] = (
    "n_gpu_layers", "n_ctx", "n_batch", "n_ubatch", "flash_attn", "type_k", "type_v", "n_threads",
)


def settings_key(settings: Mapping[str, object]) -> str:
    """Canonical text of the speed-relevant settings: equal settings, equal key."""
    return json.dumps({name: settings.get(name) for name in SPEED_SETTINGS}, sort_keys=True)


class MachineFingerprint(NamedTuple):
    fingerprint: str  # sha256 of the fields below, in canonical JSON
    cpu_name: str | None
    logical_cores: int | None
    ram_bytes: int | None
    gpus: tuple[str, ...]  # "NVIDIA GeForce RTX 4090 (24.0 GiB)"
    os: str
    canonical: str = ""  # the canonical JSON the fingerprint hashes (canonical_fields)

    def describe(self) -> str:
        gpus = ", ".join(self.gpus) or "no GPU"
        ram = f"{self.ram_bytes / 1024**3:.0f} GiB RAM" if self.ram_bytes else "RAM unknown"
        return f"{self.cpu_name or 'unknown CPU'}, {ram}, {gpus}"


def canonical_fields(snapshot: HardwareSnapshot) -> str:
    """What identifies a machine, as canonical JSON: the fingerprint is its sha256."""
    ram = snapshot.memory.total_bytes
    ram_rounded = None if ram is None else round(ram / _RAM_GRANULE_BYTES) * _RAM_GRANULE_BYTES
    fields: dict[str, Any] = {
        "cpu": snapshot.cpu.name,
        "architecture": snapshot.cpu.architecture,
        "logical_cores": snapshot.cpu.logical_cores,
        "ram_bytes": ram_rounded,
        "gpus": list(_gpu_labels(snapshot)),
        "os": snapshot.os.split(" ")[0],  # the system, not the kernel release
    }
    return json.dumps(fields, sort_keys=True)


def _gpu_labels(snapshot: HardwareSnapshot) -> tuple[str, ...]:
    return tuple(
        f"{gpu.name or gpu.vendor}"
        + (f" ({gpu.total_bytes / 1024**3:.1f} GiB)" if gpu.total_bytes else "")
        for gpu in snapshot.gpus
    )


def machine_fingerprint(snapshot: HardwareSnapshot) -> MachineFingerprint:
    """The same machine gives the same fingerprint from one run to the next."""
    import hashlib  # ~12 M instructions to load: only when a fingerprint is made

    canonical = canonical_fields(snapshot)
    return MachineFingerprint(
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest(),
        cpu_name=snapshot.cpu.name,
        logical_cores=snapshot.cpu.logical_cores,
        ram_bytes=snapshot.memory.total_bytes,
        gpus=_gpu_labels(snapshot),
        os=snapshot.os,
        canonical=canonical,
    )


class ModelFile(NamedTuple):
    """One model file as the history knows it."""

    name: str
    size_bytes: int
    sha256: str | None = None
    hub_repo: str | None = None
    hub_filename: str | None = None
    hub_revision: str | None = None
    path: str | None = None

    @property
    def identity(self) -> str:
        if self.sha256:
            return f"sha256:{self.sha256}"
        if self.hub_repo and self.hub_revision:
            return f"hub:{self.hub_repo}@{self.hub_revision}/{self.hub_filename or self.name}"
        return f"file:{self.name}:{self.size_bytes}"


def sha256_from_hub_cache(path: Path) -> str | None:
    """A file in the Hugging Face cache is a link to a blob named by its sha256: free to read."""
    try:
        blob = path.resolve(strict=True)
    except OSError:
        return None
    in_blobs = blob.parent.name == "blobs"
    return blob.name if in_blobs and _SHA256_RE.match(blob.name) else None


def sha256_of_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()

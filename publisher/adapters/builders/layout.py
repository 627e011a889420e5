"""OCI image layouts: convert a ``docker save`` archive or a root file system tar, read
what a layout holds.

A single-platform OCI image layout is a directory with ``oci-layout``,
``index.json`` (one manifest descriptor) and ``blobs/sha256/<hex>``. The
conversion keeps docker's config blob byte for byte (so the image ID and every
setting, HEALTHCHECK included, survive), gzips each layer with mtime 0 and no
file name (so converting the same archive twice gives the same digests) and
writes OCI manifest media types.

File I/O only: no subprocess, no network.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import posixpath
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ...core.errors import CommandError
from ...core.fileio import counted, make_dirs
from ...core.platforms import BuilderName
from ...resolve import (
    IMAGE_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    platform_fields,
    sha256_digest,
)
from .base import BuildOutput, BuildRequest, check_built_platform

OCI_LAYOUT_VERSION = "1.0.0"

GZIP_LEVEL = 6
_CHUNK = 1 << 20


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, hexdigest = digest.partition(":")
    return layout / "blobs" / algorithm / hexdigest


def init_layout(layout: Path) -> None:
    """Create an empty layout at ``layout`` (removing whatever was there)."""
    if layout.exists():
        shutil.rmtree(layout)
    make_dirs(layout / "blobs" / "sha256")  # at most 0755, whatever the umask
    (layout / "oci-layout").write_text(
        json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}), encoding="utf-8"
    )


def write_blob(layout: Path, data: bytes) -> str:
    digest = sha256_digest(data)
    path = blob_path(layout, digest)
    if not path.exists():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return digest


def write_index(layout: Path, manifests: list[dict[str, Any]]) -> None:
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    tmp = layout / "index.json.tmp"
    tmp.write_bytes(canonical_json(index))
    os.replace(tmp, layout / "index.json")


def _gzip_stream(source: IO[bytes], target: Path) -> tuple[str, str, int]:
    """Gzip ``source`` into ``target``; return (compressed digest, diff_id, compressed size)."""
    raw = hashlib.sha256()
    packed = hashlib.sha256()
    size = 0

    class _Tee:
        def __init__(self, handle: IO[bytes]) -> None:
            self.handle = handle

        def write(self, data: bytes) -> int:
            nonlocal size
            packed.update(data)
            size += len(data)
            return self.handle.write(data)

        def flush(self) -> None:
            self.handle.flush()

    with open(target, "wb") as handle:
        tee = _Tee(handle)
        with gzip.GzipFile(
            filename="",
            mode="wb",
            compresslevel=GZIP_LEVEL,
            fileobj=tee,
            mtime=0,
        ) as gz:
            while chunk := source.read(_CHUNK):
                raw.update(chunk)
                gz.write(chunk)
    return "sha256:" + packed.hexdigest(), "sha256:" + raw.hexdigest(), size


def _member(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    name = posixpath.normpath(name)
    try:
        member = archive.getmember(name)
    except KeyError:
        raise CommandError(
            f"the docker image archive has no {name!r}",
            hint="the archive from `docker save` is incomplete; rerun the build",
        ) from None
    handle = archive.extractfile(member)
    if handle is None:
        raise CommandError(
            f"{name!r} in the docker image archive is not a file",
            hint="the archive from `docker save` is damaged; rerun the build",
        )
    return handle


def _uncompressed(handle: IO[bytes]) -> IO[bytes]:
    """The layer tar itself, whether the archive holds it plain or gzipped.

    Engines with the classic image store save plain tars; the containerd image
    store (Docker 24 and later) saves the compressed blobs it keeps. Either way
    the layer is recompressed the same way, so the digests depend on the files
    only, not on which store the engine uses.
    """
    head = handle.read(2)
    handle.seek(0)
    if head == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def docker_archive_to_layout(archive_path: Path, layout: Path) -> str:
    """Convert a one-image ``docker save`` archive into an OCI layout; return the manifest digest."""
    init_layout(layout)
    with tarfile.open(archive_path, "r:") as archive:
        index = json.load(_member(archive, "manifest.json"))
        if not isinstance(index, list) or len(index) != 1:
            raise CommandError(
                f"expected one image in the docker archive, found {len(index) if isinstance(index, list) else 'none'}",
                hint="save exactly one image: docker save -o FILE NAME",
            )
        entry = index[0]
        config_bytes = _member(archive, entry["Config"]).read()
        config = json.loads(config_bytes)
        diff_ids = list(config.get("rootfs", {}).get("diff_ids", []))
        layers: list[dict[str, Any]] = []
        for i, name in enumerate(entry.get("Layers", [])):
            tmp = layout / "blobs" / "sha256" / f".layer-{i}.tmp"
            digest, diff_id, size = _gzip_stream(_uncompressed(_member(archive, name)), tmp)
            if i < len(diff_ids) and diff_ids[i] != diff_id:
                tmp.unlink()
                raise CommandError(
                    f"layer {i} of the docker archive does not match the image config "
                    f"(diff_id {diff_id}, expected {diff_ids[i]})",
                    hint="the archive is corrupt; rerun the build",
                )
            os.replace(tmp, blob_path(layout, digest))
            layers.append({"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": size})
        if len(layers) != len(diff_ids):
            raise CommandError(
                f"the docker archive has {counted(len(layers), 'layer')} but its config "
                f"lists {len(diff_ids)}",
                hint="the archive is corrupt; rerun the build",
            )
    return write_single_image(layout, config, config_bytes, layers)


def write_single_image(
    layout: Path, config: dict[str, Any], config_bytes: bytes, layers: list[dict[str, Any]]
) -> str:
    """Write the config, an OCI image manifest and an index naming it with its platform;
    return the manifest's digest (the layers' blobs are already in ``layout``)."""
    config_digest = write_blob(layout, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layers,
    }
    manifest_bytes = canonical_json(manifest)
    digest = write_blob(layout, manifest_bytes)
    write_index(
        layout,
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": len(manifest_bytes),
                "platform": platform_fields(config),
            }
        ],
    )
    return digest


@dataclass(frozen=True)
class LayoutImage:
    """The single image a single-platform layout holds."""

    digest: str
    media_type: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def architecture(self) -> str:
        return str(self.config.get("architecture", ""))

    @property
    def os(self) -> str:
        return str(self.config.get("os", ""))

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.config.get("config") or {}).get("Labels") or {})

    @property
    def compressed_size(self) -> int:
        return sum(int(layer["size"]) for layer in self.manifest.get("layers", [])) + int(
            self.manifest["config"]["size"]
        )


def read_layout(layout: Path) -> LayoutImage:
    """Read and check a single-image layout: digests match, every blob is present."""

    def fail(message: str) -> CommandError:
        return CommandError(
            f"invalid OCI layout {layout}: {message}",
            hint="the image the build exported there is incomplete or was changed after it "
            "was written: rerun the build",
        )

    try:
        index = json.loads((layout / "index.json").read_bytes())
    except OSError as exc:
        raise fail(f"cannot read index.json ({exc.strerror or 'unreadable'})") from None
    except ValueError as exc:
        raise fail(f"index.json is not valid JSON ({exc})") from None
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise fail(f"expected exactly one manifest, found {len(manifests)}")
    descriptor = manifests[0]
    digest = str(descriptor.get("digest", ""))
    media_type = str(descriptor.get("mediaType", ""))
    if media_type not in IMAGE_TYPES:
        raise fail(f"unexpected manifest media type {media_type!r}")
    data = _read_blob(layout, digest, fail)
    manifest = json.loads(data)
    config_digest = manifest["config"]["digest"]
    config = json.loads(_read_blob(layout, config_digest, fail))
    for layer in manifest.get("layers", []):
        path = blob_path(layout, layer["digest"])
        if not path.is_file() or path.stat().st_size != int(layer["size"]):
            raise fail(f"layer {layer['digest']} is missing or has the wrong size")
    return LayoutImage(digest=digest, media_type=media_type, manifest=manifest, config=config)


def checked_output(
    builder: BuilderName, request: BuildRequest, digest: str, *, started: float
) -> BuildOutput:
    """The output of a build exported to ``request.layout_dir``, once the image there is
    for the requested platform; a layout for another platform is removed, not kept."""
    image = read_layout(request.layout_dir)
    try:
        check_built_platform(str(builder), request, f"{image.os}/{image.architecture}")
    except CommandError:
        shutil.rmtree(request.layout_dir, ignore_errors=True)
        raise
    return BuildOutput.finished(
        request, builder, digest, layout=request.layout_dir, started=started
    )


def _read_blob(layout: Path, digest: str, fail: Any) -> bytes:
    try:
        data = blob_path(layout, digest).read_bytes()
    except OSError:
        raise fail(f"blob {digest} is missing") from None
    if sha256_digest(data) != digest:
        raise fail(f"blob {digest} does not match its digest")
    return data


def merge_layouts(layouts: list[Path], dest: Path, ref_name: str | None = None) -> str:
    """Combine single-platform layouts into one layout holding a multi-platform index.

    The index lists each image with the platform from its config, in the given
    order; ``index.json`` points at the index (annotated with ``ref_name``).
    Returns the index digest.
    """
    init_layout(dest)
    children: list[dict[str, Any]] = []
    for layout in layouts:
        image = read_layout(layout)
        source = layout / "blobs" / "sha256"
        for blob in source.iterdir():
            target = dest / "blobs" / "sha256" / blob.name
            if not target.exists():
                shutil.copyfile(blob, target)
        manifest_size = blob_path(layout, image.digest).stat().st_size
        children.append(
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": manifest_size,
                "platform": platform_fields(image.config),
            }
        )
    body = canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    digest = write_blob(dest, body)
    top: dict[str, Any] = {"mediaType": OCI_INDEX, "digest": digest, "size": len(body)}
    if ref_name:
        top["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    write_index(dest, [top])
    return digest


def normalize_config(layout: Path, base_name: str | None = None) -> str:
    """Drop a build's accidental details from the image config; return the manifest digest.

    Docker-format configs written by buildah carry the ID of the throwaway build
    container (``container``) and its random ``Hostname``; buildah's history also
    says ``FROM <name>`` with whichever local name the base image happened to
    have in storage. So the same inputs would give a new digest on another run.
    This removes the first two and, when ``base_name`` is given, names the base
    as requested (``FROM <base_name>``), then rewrites the manifest and
    ``index.json`` to match; nothing else changes. A layout without such
    details is left as it is.
    """
    index = json.loads((layout / "index.json").read_bytes())
    descriptor = index["manifests"][0]
    manifest_path = blob_path(layout, descriptor["digest"])
    manifest = json.loads(manifest_path.read_bytes())
    config_path = blob_path(layout, manifest["config"]["digest"])
    config = json.loads(config_path.read_bytes())
    changed = config.pop("container", None) is not None
    for section in ("config", "container_config"):
        block = config.get(section)
        if isinstance(block, dict) and block.get("Hostname"):
            block["Hostname"] = ""
            changed = True
    if base_name:
        for entry in config.get("history") or []:
            comment = entry.get("comment") if isinstance(entry, dict) else None
            if (
                isinstance(comment, str)
                and comment.startswith("FROM ")
                and comment != f"FROM {base_name}"
            ):
                entry["comment"] = f"FROM {base_name}"
                changed = True
    if not changed:
        return str(descriptor["digest"])
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest["config"]["digest"] = write_blob(layout, config_bytes)
    manifest["config"]["size"] = len(config_bytes)
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    digest = write_blob(layout, manifest_bytes)
    config_path.unlink()
    manifest_path.unlink()
    descriptor["digest"] = digest
    descriptor["size"] = len(manifest_bytes)
    write_index(layout, index["manifests"])
    return digest


def tar_to_layout(tar_path: Path, layout: Path, config: dict[str, Any]) -> str:
    """An OCI layout of one image: the root file system tar as its single layer.

    ``config`` is the image config without ``rootfs``, which is filled in here.
    The layer is gzipped like the docker converter's (mtime 0, no name), so the
    same tar and config give the same digest. Returns the manifest digest.
    """
    init_layout(layout)
    tmp = layout / "blobs" / "sha256" / ".layer.tmp"
    with open(tar_path, "rb") as source:
        digest, diff_id, size = _gzip_stream(source, tmp)
    os.replace(tmp, blob_path(layout, digest))
    full = {**config, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    config_bytes = canonical_json(full)
    layer = {"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": size}
    return write_single_image(layout, full, config_bytes, [layer])

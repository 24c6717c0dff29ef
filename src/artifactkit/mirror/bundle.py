"""Air-gapped bundles: a directory that carries versions from one server to another by hand.

Layout (format version 1, documented in docs/travel.md):

    DIR/bundle.json                      the index: format, source server, collections, versions, runs
    DIR/manifests/<sha256>.json          each version's manifest (W&B's format), named by its SHA-256
    DIR/blobs/<md5[:2]>/<md5>            each stored file's bytes once, named by their MD5 (hex)

An export writes blobs and manifests first, each through a temporary file renamed into place,
and the index last: a killed export leaves a bundle that is either the old one or the new one
(plus unreferenced files the next export reuses). Exporting again into the same directory adds
what is new and rewrites nothing that did not change.

Reading trusts nothing: the index and the manifests are size-limited, strictly parsed JSON whose
every field is checked (names by the rules the server applies, manifest paths by the download
rules); a file is opened only at a name derived from a digest, never through a symlink, and only
if it is a regular file; each manifest must hash to its name and list the version's digest; each
stored file must have the size its manifest declares and, before anything is written to a server,
the MD5 it is named by. Any of these failing is a `BundleError` naming the file, raised before the
first write.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from .._client import Client
from .._version import __version__
from ..errors import BundleError, BundleFormatError, BundleIntegrityError, UnsafeBundleError
from ..manifest import Manifest, ManifestEntry, ManifestError
from ..transfer.limits import CHUNK
from ..transfer.progress import Progress
from ..transfer.upload import FileIdentity, LocalFile, put_files
from ..uploads import FileRegistry
from .records import CollectionRecord, RunKey, RunRecord, Selection, Snapshot, VersionRecord

FORMAT = "artifactkit-bundle"
FORMAT_VERSION = 1
INDEX = "bundle.json"
MAX_INDEX_BYTES = 256 << 20
"""The longest index read (about a million versions); `ARTIFACTKIT_MAX_BUNDLE_INDEX_BYTES` overrides it."""
MAX_MANIFEST_BYTES = 256 << 20
MAX_FILE_BYTES = 1 << 50
"""No stored file declares more than this (1 PiB): a larger size is a hostile or broken bundle."""
ABOUT = (
    "An artifactkit bundle: W&B artifact versions with their files, metadata, aliases, tags, links and "
    "lineage, for `artifactkit import` into any W&B-compatible server. Format: docs/travel.md."
)
_MANIFEST_NAME = re.compile(r"manifests/([0-9a-f]{64})\.json")
_TEMP_PREFIX = ".tmp-"


def blob_path(md5_hex: str) -> str:
    """Where a stored file's bytes live in a bundle, relative to it."""
    return f"blobs/{md5_hex[:2]}/{md5_hex}"


class Bundle:
    """A bundle directory: a source to import from, a target to export into (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.label = str(self.path)
        self.server = ""
        """The server the bundle's versions were exported from (set once read or begun)."""
        self.selections: list[str] = []
        self._created_at: str | None = None
        self._collections: dict[str, CollectionRecord] = {}
        self._versions: dict[str, tuple[VersionRecord, str]] = {}
        self._runs: dict[RunKey, RunRecord] = {}
        self._manifests: dict[str, Manifest] = {}
        self._checked: dict[str, FileIdentity] = {}

    def __repr__(self) -> str:
        return f"<Bundle {self.path}>"

    # -- reading ---------------------------------------------------------------------------

    def read(self) -> Snapshot:
        """Everything the bundle holds, checked (see the module docstring); `BundleError` otherwise."""
        self._load_index(required=True)
        snapshot = Snapshot(
            collections=list(self._collections.values()),
            versions=[record for record, _ in self._versions.values()],
            runs=dict(self._runs),
        )
        snapshot.versions.sort(key=lambda v: (v.project, v.collection, v.index))
        for record in snapshot.versions:
            self.manifest(record)
        return snapshot

    def check(self, versions: Sequence[VersionRecord], *, progress: bool | None = None) -> None:
        """Hash every stored file the versions list; `BundleIntegrityError` for the first that is wrong."""
        wanted: dict[str, int] = {}
        for record in versions:
            for entry in self.manifest(record):
                if not entry.is_reference:
                    wanted[entry.md5_hex] = entry.size
        bar = Progress(sum(wanted.values()), len(wanted), progress, verb="checked")
        try:
            for md5_hex, size in wanted.items():
                self._checked[md5_hex] = self._hash_blob(md5_hex, size, bar)
                bar.file_done()
        finally:
            bar.close()

    def manifest(self, record: VersionRecord) -> Manifest:
        """A version's manifest from the bundle, checked (its name is its SHA-256; it lists the version's digest)."""
        if record.source_id not in self._manifests:
            name = self._versions[record.source_id][1]
            self._manifests[record.source_id] = self._read_manifest(name, record)
        return self._manifests[record.source_id]

    def send(
        self,
        record: VersionRecord,
        entries: Sequence[ManifestEntry],
        registry: FileRegistry,
        target: Client,
        *,
        workers: int | None,
        progress: Progress,
    ) -> tuple[int, int]:
        """Upload the stored files the target lacks from the bundle's blobs (hashed by `check()` first)."""
        files = []
        for entry in entries:
            identity = self._checked.get(entry.md5_hex)
            if identity is None:
                raise BundleIntegrityError(
                    f"{blob_path(entry.md5_hex)} was not checked before the import", path=blob_path(entry.md5_hex)
                )
            source = self.path / blob_path(entry.md5_hex)
            files.append(LocalFile(source, entry.path, entry.size, entry.digest, identity=identity, follow=False))
        stats = put_files(target.transport, files, registry.upload_urls, workers=workers, progress=progress)
        return stats.uploaded_files, stats.uploaded_bytes

    def _load_index(self, *, required: bool) -> bool:
        """Read and check the index; False when there is none (and none is `required`)."""
        root = self._root_status()
        if root is None:
            if required:
                raise BundleFormatError(f"{self.path} does not exist", path="")
            return False
        try:
            raw = self._read_file(INDEX, _limit("ARTIFACTKIT_MAX_BUNDLE_INDEX_BYTES", MAX_INDEX_BYTES))
        except FileNotFoundError:
            if required:
                raise BundleFormatError(
                    f"{self.path} is not an artifactkit bundle: it has no {INDEX}", path=INDEX
                ) from None
            return False
        doc = _json(raw, INDEX)
        if not isinstance(doc, dict):
            raise BundleFormatError(f"{INDEX} must be a JSON object", path=INDEX)
        if doc.get("format") != FORMAT:
            raise BundleFormatError(
                f"{self.path} is not an artifactkit bundle ({INDEX} has format {doc.get('format')!r})", path=INDEX
            )
        version = doc.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise BundleFormatError(f"{INDEX}: format_version must be a whole number from 1", path=INDEX)
        if version > FORMAT_VERSION:
            raise BundleFormatError(
                f"{self.path} is a format {version} bundle; this artifactkit reads format {FORMAT_VERSION}: upgrade it",
                path=INDEX,
            )
        source = doc.get("source")
        server = source.get("server") if isinstance(source, dict) else None
        if not isinstance(server, str) or not server or len(server) > 2048 or not server.isprintable():
            raise BundleFormatError(f"{INDEX}: source.server must name the server the versions come from", path=INDEX)
        selections = doc.get("selections", [])
        if not isinstance(selections, list) or not all(isinstance(s, str) and s.isprintable() for s in selections):
            raise BundleFormatError(f"{INDEX}: selections must be a list of strings", path=INDEX)
        created = doc.get("created_at")
        if created is not None and not isinstance(created, str):
            raise BundleFormatError(f"{INDEX}: created_at must be a string", path=INDEX)
        self.server, self.selections, self._created_at = server, list(selections), created
        self._collections = {}
        for i, item in enumerate(_list(doc, "collections")):
            collection = CollectionRecord.from_json(item, f"{INDEX} collections[{i}]")
            self._collections[collection.path] = collection
        self._runs = {}
        for i, item in enumerate(_list(doc, "runs")):
            run = RunRecord.from_json(item, f"{INDEX} runs[{i}]")
            self._runs[run.key] = run
        self._versions = {}
        for i, item in enumerate(_list(doc, "versions")):
            where = f"{INDEX} versions[{i}]"
            record, manifest_name = VersionRecord.from_json(item, where)
            if record.source_id in self._versions:
                raise BundleFormatError(f"{where}: version {record.source_id!r} is listed twice", path=INDEX)
            if _MANIFEST_NAME.fullmatch(manifest_name) is None:
                raise UnsafeBundleError(
                    f"{where}: the manifest must be named manifests/<sha256>.json, not {manifest_name!r}", path=INDEX
                )
            self._versions[record.source_id] = (record, manifest_name)
        return True

    def _read_manifest(self, name: str, record: VersionRecord) -> Manifest:
        raw = self._read_file(name, _limit("ARTIFACTKIT_MAX_MANIFEST_BYTES", MAX_MANIFEST_BYTES))
        match = _MANIFEST_NAME.fullmatch(name)
        assert match is not None
        if hashlib.sha256(raw).hexdigest() != match.group(1):
            raise BundleIntegrityError(f"{name} does not hash to its name: it was changed", path=name)
        try:
            manifest = Manifest.from_json(_json(raw, name))
        except ManifestError as exc:
            if "path" in str(exc) or ".." in str(exc):
                raise UnsafeBundleError(f"{name}: {exc}", path=name) from None
            raise BundleFormatError(f"{name}: {exc}", path=name) from None
        if manifest.digest() != record.digest:
            raise BundleIntegrityError(
                f"{name}: its files make digest {manifest.digest()}, but {record.name} is listed with {record.digest}",
                path=name,
            )
        for entry in manifest:
            if entry.size > MAX_FILE_BYTES:
                raise UnsafeBundleError(
                    f"{name}: {entry.path} declares {entry.size} bytes, more than any file a bundle holds", path=name
                )
        return manifest

    def _hash_blob(self, md5_hex: str, size: int, bar: Progress) -> FileIdentity:
        name = blob_path(md5_hex)
        hasher = hashlib.md5(usedforsecurity=False)
        with self._open(name) as handle:
            status = os.fstat(handle.fileno())
            if status.st_size != size:
                raise BundleIntegrityError(f"{name} has {status.st_size} bytes, its manifest lists {size}", path=name)
            while chunk := handle.read(CHUNK):
                hasher.update(chunk)
                bar.bytes(len(chunk))
            after = os.fstat(handle.fileno())
        if hasher.hexdigest() != md5_hex or after.st_size != size:
            raise BundleIntegrityError(
                f"{name} does not have the MD5 it is named by: its bytes were changed", path=name
            )
        return FileIdentity.of(after)

    # -- safe file access -------------------------------------------------------------------------

    def _root_status(self) -> os.stat_result | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BundleError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        if not stat.S_ISDIR(status.st_mode):
            raise BundleFormatError(f"{self.path} is not a directory", path="")
        return status

    def _safe(self, name: str) -> Path:
        """`name` (a relative path this module made) under the bundle, with no symlink on the way."""
        current = self.path
        parts = name.split("/")
        for i, part in enumerate(parts):
            current = current / part
            try:
                status = current.lstat()
            except FileNotFoundError:
                if i == len(parts) - 1:
                    raise
                raise FileNotFoundError(str(current)) from None
            if stat.S_ISLNK(status.st_mode):
                raise UnsafeBundleError(f"{'/'.join(parts[: i + 1])} is a symlink; a bundle holds none", path=name)
            if i < len(parts) - 1 and not stat.S_ISDIR(status.st_mode):
                raise UnsafeBundleError(f"{'/'.join(parts[: i + 1])} is not a directory", path=name)
        return current

    @contextlib.contextmanager
    def _open(self, name: str) -> Iterator[BinaryIO]:
        try:
            path = self._safe(name)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            raise BundleIntegrityError(f"{name} is missing from the bundle", path=name) from None
        except BundleError:
            raise
        except OSError as exc:
            raise UnsafeBundleError(f"cannot open {name}: {exc.strerror or exc}", path=name) from None
        handle = os.fdopen(fd, "rb")
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UnsafeBundleError(f"{name} is not a regular file", path=name)
            os.set_blocking(fd, True)
            yield handle
        finally:
            handle.close()

    def _read_file(self, name: str, limit: int) -> bytes:
        """A whole file of at most `limit` bytes (`FileNotFoundError` when there is none)."""
        self._safe(name)
        with self._open(name) as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise UnsafeBundleError(f"{name} is {size} bytes, more than the {limit} bytes read", path=name)
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise UnsafeBundleError(f"{name} is longer than the {limit} bytes read", path=name)
        return data

    # -- writing (an export) --------------------------------------------------------------------

    def begin(self, server: str, selections: Sequence[str], *, write: bool = True) -> None:
        """Start an export from `server`: a new bundle, or the one already in the directory (same server).

        Without `write` (a dry run) the directory is only read.
        """
        root = self._root_status()
        if (
            root is not None
            and not self._load_index(required=False)
            and any(not entry.name.startswith(_TEMP_PREFIX) for entry in os.scandir(self.path))
        ):
            raise BundleFormatError(
                f"{self.path} is not empty and is not a bundle: export into a new or empty directory", path=""
            )
        if self.server and self.server.rstrip("/") != server.rstrip("/"):
            raise BundleFormatError(
                f"{self.path} holds versions of {self.server}; a bundle holds one server's: export {server}'s "
                "into another directory",
                path=INDEX,
            )
        if not write:
            return
        if root is None:
            self.path.mkdir(parents=True)
        for entry in os.scandir(self.path):  # what a killed export left
            if entry.name.startswith(_TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
        self.server = server
        self.selections = list(dict.fromkeys([*self.selections, *selections]))

    def holds(self, record: VersionRecord) -> VersionRecord | None:
        """The record the bundle already has for this version, if any."""
        found = self._versions.get(record.source_id)
        return None if found is None else found[0]

    def held_run(self, key: RunKey) -> RunRecord | None:
        """The record the bundle already has for this run, if any."""
        return self._runs.get(key)

    def held_collection(self, path: str) -> CollectionRecord | None:
        """The record the bundle already has for this collection (`entity/project/name`), if any."""
        return self._collections.get(path)

    def missing_blobs(self, manifest: Manifest) -> dict[str, ManifestEntry]:
        """`blob path -> entry` for the stored files the bundle does not hold (or holds with another size)."""
        missing: dict[str, ManifestEntry] = {}
        for entry in manifest:
            if entry.is_reference:
                continue
            name = blob_path(entry.md5_hex)
            try:
                status = self._safe(name).lstat()
            except FileNotFoundError:
                missing[name] = entry
                continue
            if not stat.S_ISREG(status.st_mode) or status.st_size != entry.size:
                missing[name] = entry
        return missing

    def write_version(self, record: VersionRecord, manifest: Manifest) -> None:
        """Keep a version's record and manifest (its blobs are fetched into the bundle apart)."""
        body = json.dumps(manifest.to_json(), indent=1, sort_keys=True).encode()
        name = f"manifests/{hashlib.sha256(body).hexdigest()}.json"
        if not (self.path / name).is_file():
            self._write(name, body)
        self._versions[record.source_id] = (record, name)
        self._manifests[record.source_id] = manifest

    def write_run(self, run: RunRecord) -> None:
        """Keep a run's record (written with the index)."""
        self._runs[run.key] = run

    def write_collection(self, record: CollectionRecord) -> None:
        """Keep a collection's record (written with the index)."""
        self._collections[record.path] = record

    def finish(self, created_at: str) -> bool:
        """Write the index (last, atomically); False when it would not change."""
        versions = sorted(
            self._versions.values(), key=lambda item: (item[0].project, item[0].collection, item[0].index)
        )
        doc: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "about": ABOUT,
            "created_by": f"artifactkit {__version__}",
            "created_at": self._created_at or created_at,
            "source": {"server": self.server},
            "selections": self.selections,
            "collections": [c.to_json() for c in sorted(self._collections.values(), key=lambda c: c.path)],
            "versions": [record.to_json(name) for record, name in versions],
            "runs": [r.to_json() for r in sorted(self._runs.values(), key=lambda r: r.key)],
        }
        body = json.dumps(doc, indent=1).encode() + b"\n"
        with contextlib.suppress(OSError):
            current = (self.path / INDEX).read_bytes()
            if _same_index(current, doc):
                return False
        self._write(INDEX, body)
        return True

    def blob_root(self) -> Path:
        """The directory blob paths (`blob_path`) are relative to."""
        return self.path

    def _write(self, name: str, body: bytes) -> None:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        with temp.open("xb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)


def _same_index(current: bytes, doc: dict[str, Any]) -> bool:
    """Whether the index on disk already says what `doc` says (its writer's version aside)."""
    try:
        old = json.loads(current)
    except (ValueError, UnicodeDecodeError):
        return False
    if not isinstance(old, dict):
        return False
    return {k: v for k, v in old.items() if k != "created_by"} == {k: v for k, v in doc.items() if k != "created_by"}


def _limit(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    return int(raw) if raw.isdigit() else default


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(raw: bytes, name: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleFormatError(f"{name} is not valid JSON: {exc}", path=name) from None


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise BundleFormatError(f"{INDEX}: {key} must be a list", path=INDEX)
    return value


def selected(snapshot: Snapshot, selections: Sequence[Selection]) -> Snapshot:
    """The part of a bundle's snapshot the selections name (all of it when there are none)."""
    if not selections:
        return snapshot

    def wanted(project: Any, collection: str, index: int | None, aliases: Sequence[str]) -> bool:
        for selection in selections:
            if selection.project != project:
                continue
            if selection.collection is None:
                return True
            if selection.collection != collection:
                continue
            if not selection.versions or index is None:
                return True
            if any(v == f"v{index}" or v in aliases for v in selection.versions):
                return True
        return False

    versions = [v for v in snapshot.versions if wanted(v.project, v.collection, v.index, v.aliases)]
    keep = {f"{v.project}/{v.collection}" for v in versions} | {link.path for v in versions for link in v.links}
    return Snapshot(
        collections=[c for c in snapshot.collections if c.path in keep],
        versions=versions,
        runs=snapshot.runs,
    )

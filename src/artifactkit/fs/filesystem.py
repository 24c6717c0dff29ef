"""`ArtifactFileSystem`: the fsspec filesystem of `wandb://` paths.

It resolves paths to versions (remembering what an alias named until asked again), lists projects,
collections, versions and the trees of their manifests, and hands reading to `reads`, `get` to
`downloads` and writing to `writes`.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile, make_instance

from .. import _lookups
from .._paths import ArtifactPath, version_index
from .._transport import RetryPolicy
from ..api import Api
from ..artifacts import Artifact
from ..errors import InvalidNameError, NotFoundError
from ..manifest import Manifest, ManifestEntry
from ..transfer.cache import Cache
from ..transfer.ranges import RangeSource, Spool, open_ranges
from ..transfer.references import follow
from .downloads import check_destination, download_version
from .oserrors import no_version, not_found, translated
from .paths import GLOB_MAGIC, PATH_FORM, PROTOCOL, WandbPath, parse_path, strip_protocol
from .reads import ArtifactFile, file_urls
from .tree import Tree, Version, dir_info, file_info
from .writes import StagedFile, VersionTransaction

logger = logging.getLogger("artifactkit")

DEFAULT_BLOCK_SIZE = 4 << 20  # bytes per read-ahead block
URL_BATCH = 100  # download URLs asked for in one request (the `files(names:)` page the server allows)


def _api_settings(api: Api, cache_root: Path) -> dict[str, Any]:
    """Storage options that rebuild `api` in another process: its resolved configuration."""
    transport = api.client.transport
    if transport.custom_sender:
        raise TypeError(
            "this filesystem cannot be pickled: its Api sends requests through a custom http_transport, "
            "which another process could not rebuild; pickle one built from storage options instead"
        )
    config = api.config
    return {
        "base_url": transport.base_url,
        "api_key": config.api_key,
        "entity": api._entity,
        "project": api.default_project,
        "organization": config.organization,
        "timeout": config.timeout,
        "retry": transport.retry,
        "cache_dir": str(cache_root),
    }


class _PerApiCache(type(AbstractFileSystem)):  # type: ignore[misc]
    """fsspec reuses instances built with equal arguments; one built around an `Api` object is its own."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("api") is not None or any(isinstance(arg, Api) for arg in args):
            kwargs.setdefault("skip_instance_cache", True)
        return super().__call__(*args, **kwargs)


class ArtifactFileSystem(AbstractFileSystem, metaclass=_PerApiCache):  # type: ignore[misc]
    """W&B artifacts as an fsspec filesystem, protocol `wandb://`.

    `api` is an `Api` to use; without it one is made from `api_key`, `base_url`, `cache_dir`,
    `timeout`, `entity`, `project`, `organization` (of registry paths) and `retry` (else the
    environment, as `Api()` does). Both kinds pickle (`__reduce__`), for DataLoader and dask
    workers. `block_size` is the read-ahead of opened files. `artifact_type` is the type given to
    collections a transaction creates. `cache_reads` puts files read from start to end into the
    shared cache.
    """

    protocol = PROTOCOL
    root_marker = ""
    transaction_type = VersionTransaction

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        """`path` without `wandb://` and trailing slashes (each of a list)."""
        if isinstance(path, list):
            return [strip_protocol(p) for p in path]
        return strip_protocol(path)

    def __init__(
        self,
        api: Api | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        entity: str | None = None,
        project: str | None = None,
        organization: str | None = None,
        retry: RetryPolicy | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        artifact_type: str = "dataset",
        cache_reads: bool = True,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self._api = api or Api(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            entity=entity,
            project=project,
            organization=organization,
            retry=retry,
            cache_dir=cache_dir,
        )
        self.blocksize = block_size
        self.artifact_type = artifact_type
        self.cache_reads = cache_reads
        self._pid = os.getpid()
        self.cache = Cache(self._api.client.cache_root)
        self._lock = threading.Lock()
        self._versions: dict[tuple[str, str, str, str], Version] = {}
        self._versions_by_id: dict[str, Version] = {}
        self._trees: dict[tuple[str, str], Tree] = {}
        self._collection_types: dict[tuple[str, str, str], str] = {}
        self._collecting = threading.local()
        self._batch = threading.local()
        self._swept = False

    @property
    def api(self) -> Api:
        """The `Api` requests go through; in a forked child, a new one with the same configuration."""
        if self._pid != os.getpid():
            self._after_fork()
        return self._api

    def _parse(self, path: str) -> WandbPath:
        """`parse_path`, a registry path's organization decided as the `Api` decides it (one request, once)."""
        return parse_path(path, self.api._registry_entity)

    def _after_fork(self) -> None:
        """In a forked child (a DataLoader worker under `fork`): stop sharing the parent's connections.

        The child inherits the parent's HTTP connections (and their sockets) and any lock another
        thread held at the fork. Reading responses from a socket the parent also reads mixes bytes,
        so the child builds its own `Api` from the parent's configuration, forgets the versions it
        looked up (they hold the parent's client) and keeps the manifests.
        """
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._versions, self._versions_by_id = {}, {}
        self.cache = Cache(self.cache.root)
        try:
            settings = _api_settings(self._api, self.cache.root)
        except TypeError:
            logger.warning("a forked process keeps using its parent's Api (it has a custom http_transport)")
            return
        self._api = Api(**settings)
        logger.debug("built a new Api for process %d (forked)", self._pid)

    def __repr__(self) -> str:
        return f"<ArtifactFileSystem wandb:// on {self._api.base_url}>"  # never the key

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by configuration, so DataLoader and dask workers each rebuild the filesystem.

        One built from storage options is rebuilt from them (fsspec's own way: in the worker,
        equal options share one instance). One built around an `Api` object is rebuilt from that
        Api's resolved configuration (server, key, entity, project, timeout, retries, cache
        folder), read again in no environment or settings file. The pickle holds the API key, as
        it must for the worker to use it; treat it like the key.
        """
        args = tuple(arg for arg in self.storage_args if not isinstance(arg, Api))
        options = {name: value for name, value in self.storage_options.items() if name != "api"}
        if len(args) == len(self.storage_args) and "api" not in self.storage_options:
            return super().__reduce__()  # type: ignore[no-any-return]
        return make_instance, (type(self), args, {**options, **_api_settings(self.api, self.cache.root)})

    # -- resolving versions ------------------------------------------------------------------------

    def _resolve(self, ref: WandbPath, *, fresh: bool = False, files: Iterable[str] = ()) -> Version:
        """The version `ref` names: looked up once and remembered, except with `fresh` (moving aliases)."""
        assert ref.project is not None and ref.collection is not None
        alias = ref.alias or "latest"
        key = (ref.entity, ref.project, ref.collection, alias)
        pinned: dict[tuple[str, str, str, str], Version] | None = getattr(self._batch, "pinned", None)
        if pinned is not None and key in pinned:
            return pinned[key]  # one `cat` of many files reads them all from one version
        names = list(files)
        with self._lock:
            known = self._versions.get(key)
        if known is not None and not names and (not fresh or version_index(alias) is not None):
            return known
        client = self.api.client
        name = f"{ref.collection}:{alias}"
        found = client.operations.version_file_access(ref.entity, ref.project or "", name, names)
        membership = None if found is None else found[0]
        if found is None or membership is None or membership.artifact is None or membership.artifact_collection is None:
            raise _lookups.diagnose(client, ArtifactPath(ref.entity, ref.project, ref.collection, alias))
        artifact = Artifact._from_membership(client, membership, (ref.entity, ref.project))
        version = Version(artifact, found[1], found[2])
        with self._lock:
            self._versions[key] = version
            self._versions[(ref.entity, ref.project, ref.collection, artifact.version)] = version
        return version

    def _tree(self, version: Version) -> Tree:
        """The version's files, from its manifest: fetched once per version, kept in the shared cache."""
        artifact = version.artifact
        key = (artifact.id, artifact.digest)
        with self._lock:
            tree = self._trees.get(key)
        if tree is None:
            tree = Tree(self._manifest(version), artifact.qualified_name)
            with self._lock:
                self._trees[key] = tree
        return tree

    def _manifest(self, version: Version) -> Manifest:
        """The version's manifest: from the shared cache, else from the URL its lookup returned."""
        return version.artifact._manifest_at(version.manifest_url)

    def _collection_type(self, ref: WandbPath) -> str:
        assert ref.project is not None and ref.collection is not None
        key = (ref.entity, ref.project, ref.collection)
        known = self._collection_types.get(key)
        if known is not None:
            return known
        type_name = _lookups.collection_type(
            self.api.client, ArtifactPath(ref.entity, ref.project, ref.collection, None)
        )
        self._collection_types[key] = type_name
        return type_name

    def _version_of(self, path: str, *, fresh: bool = False, files: Iterable[str] = ()) -> tuple[WandbPath, Version]:
        ref = self._parse(path)
        if ref.project is None or ref.collection is None or ref.alias is None:
            raise InvalidNameError(f"{path!r} names no version", expected=PATH_FORM)
        return ref, self._resolve(ref, fresh=fresh, files=files)

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget what aliases resolved to and which collections exist; manifests of versions stay."""
        with self._lock:
            self._versions = {k: v for k, v in self._versions.items() if version_index(k[3]) is not None}
            if path is None:
                self._versions.clear()
                self._collection_types.clear()
        super().invalidate_cache(path)

    # -- listing --------------------------------------------------------------------------------------

    def _collections(self, ref: WandbPath) -> list[dict[str, Any]]:
        infos = []
        project = f"{ref.entity}/{ref.project}"
        for artifact_type in self.api.artifact_types(project):
            for collection in artifact_type.collections():
                self._collection_types[(ref.entity, str(ref.project), collection.name)] = artifact_type.name
                info = dir_info(f"{project}/{collection.name}")
                info.update(
                    artifact_type=artifact_type.name, kind="sequence" if collection.is_sequence() else "portfolio"
                )
                infos.append(info)
        return sorted(infos, key=lambda i: i["name"])

    def _versions_of(self, ref: WandbPath) -> list[dict[str, Any]]:
        type_name = self._collection_type(ref)
        infos = []
        for artifact in self.api.artifacts(type_name, ref.collection_path):
            info = dir_info(f"{ref.collection_path}:{artifact.version}", artifact, artifact.size)
            info.update(aliases=list(artifact.aliases), digest=artifact.digest, file_count=artifact.file_count)
            infos.append(info)
        return infos

    def _children(self, ref: WandbPath, version: Version, tree: Tree) -> list[dict[str, Any]]:
        artifact = version.artifact
        entry = tree.files.get(ref.path)
        if entry is not None and ref.path not in tree.dirs:
            return [file_info(ref, artifact, entry)]
        children = tree.dirs.get(ref.path)
        if children is None:
            not_found(
                ref.inside(ref.path), f"{ref.inside(ref.path)}: no such file or folder in {artifact.qualified_name}"
            )
        infos = []
        for name in sorted(children):
            path = f"{ref.path}/{name}" if ref.path else name
            if children[name]:
                infos.append(dir_info(ref.inside(path), artifact))
            else:
                infos.append(file_info(ref, artifact, tree.files[path]))
        return infos

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Projects of an entity, collections of a project, versions of a collection, or the files and
        folders of a version.

        The root cannot be listed (the W&B API has no listing of entities): `NotImplementedError`
        says what to name instead.
        """
        if not self._strip_protocol(path):
            raise NotImplementedError(
                f"wandb:// cannot list entities; name an entity: 'wandb://ENTITY' or 'wandb://ENTITY/PROJECT' "
                f"({PATH_FORM})"
            )
        ref = self._parse(path)
        with translated(path):
            if ref.project is None:
                infos = [
                    {**dir_info(project.path_str), "description": project.description}
                    for project in self.api.projects(ref.entity)
                ]
                infos.sort(key=lambda i: i["name"])
            elif ref.collection is None:
                infos = self._collections(ref)
            elif ref.alias is None:
                if ref.path:
                    no_version(path)
                infos = self._versions_of(ref)
            else:
                version = self._resolve(ref)
                infos = self._children(ref, version, self._tree(version))
        return infos if detail else [info["name"] for info in infos]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """Details of a file or folder; inside a version they include the `version` an alias resolved to."""
        if not self._strip_protocol(path):
            return dir_info("")  # the root: a folder, though it cannot be listed
        ref = self._parse(path)
        with translated(path):
            if ref.project is None:
                return dir_info(ref.entity)
            if ref.collection is None:
                next(iter(self.api.artifact_types(f"{ref.entity}/{ref.project}", per_page=1)), None)
                return dir_info(f"{ref.entity}/{ref.project}")
            if ref.alias is None:
                if ref.path:
                    no_version(path)
                info = dir_info(ref.collection_path)
                info["artifact_type"] = self._collection_type(ref)
                return info
            version = self._resolve(ref)
            artifact = version.artifact
            if not ref.path:
                info = dir_info(ref.version_root, artifact, artifact.size)
                info.update(aliases=list(artifact.aliases), digest=artifact.digest, file_count=artifact.file_count)
                return info
            tree = self._tree(version)
            if ref.path in tree.dirs:
                return dir_info(ref.inside(ref.path), artifact)
            entry = tree.files.get(ref.path)
            if entry is None:
                not_found(path, f"{ref.inside(ref.path)}: no such file or folder in {artifact.qualified_name}")
            return file_info(ref, artifact, entry)

    def exists(self, path: str, **kwargs: Any) -> bool:
        """Whether `path` exists. A refused key or an unreachable server raises (fsspec's default
        answers False to every error, which reads as "not there")."""
        try:
            self.info(path)
        except (FileNotFoundError, ValueError):  # missing, or a name that cannot exist
            return False
        return True

    def isdir(self, path: str) -> bool:
        """Whether `path` is a folder (a version, or a folder in one); errors other than "missing" raise."""
        try:
            return bool(self.info(path)["type"] == "directory")
        except (FileNotFoundError, ValueError):
            return False

    def isfile(self, path: str) -> bool:
        """Whether `path` is a file of a version; errors other than "missing" raise."""
        try:
            return bool(self.info(path)["type"] == "file")
        except (FileNotFoundError, ValueError):
            return False

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every file under `path`; inside a version from its manifest alone (no request per file).

        As in fsspec, a path that does not exist has no files (`[]`, so `glob` finds nothing);
        a refused key still raises.
        """
        ref = self._parse(path)
        if ref.alias is None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        try:
            with translated(path):
                version = self._resolve(ref)
                tree = self._tree(version)
        except FileNotFoundError:
            return {} if detail else []
        artifact = version.artifact
        out: dict[str, dict[str, Any]] = {}
        if ref.path in tree.files and ref.path not in tree.dirs:
            out[ref.inside(ref.path)] = file_info(ref, artifact, tree.files[ref.path])
        elif ref.path in tree.dirs:
            prefix = f"{ref.path}/" if ref.path else ""
            base_depth = prefix.count("/")
            if withdirs:
                if ref.path:
                    out[ref.inside(ref.path)] = dir_info(ref.inside(ref.path), artifact)
                for folder in tree.dirs:
                    deep = maxdepth is not None and folder.count("/") - base_depth >= maxdepth
                    if folder and folder.startswith(prefix) and not deep:
                        out[ref.inside(folder)] = dir_info(ref.inside(folder), artifact)
            for file_path, entry in tree.files.items():
                if not file_path.startswith(prefix) or file_path in tree.dirs:
                    continue
                if maxdepth is not None and file_path.count("/") - base_depth >= maxdepth:
                    continue
                out[ref.inside(file_path)] = file_info(ref, artifact, entry)
        names = sorted(out)
        return {name: out[name] for name in names} if detail else names

    def glob(self, path: str, maxdepth: int | None = None, **kwargs: Any) -> Any:
        """fsspec's glob, plus patterns in the version part: `ENTITY/PROJECT/COLLECTION:v*/...`.

        A version pattern matches the versions a collection lists (`v0`, `v1`, ...; aliases are
        not listed), and the rest of the pattern is matched inside each of them.
        """
        parts = self._strip_protocol(path).split("/")
        if (
            len(parts) < 3
            or not GLOB_MAGIC.search(parts[2].partition(":")[2])
            or GLOB_MAGIC.search("/".join(parts[:2]))
        ):
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        name, _, pattern = parts[2].partition(":")
        if GLOB_MAGIC.search(name):
            return super().glob(path, maxdepth=maxdepth, **kwargs)
        try:
            versions = self.ls("/".join([*parts[:2], name]), detail=True)
        except FileNotFoundError:
            versions = []
        matched = sorted(
            (v for v in versions if fnmatch.fnmatchcase(v["name"].rsplit(":", 1)[1], pattern)), key=lambda v: v["name"]
        )
        detail = kwargs.get("detail", False)
        rest = "/".join(parts[3:])
        if not rest:
            return {v["name"]: v for v in matched} if detail else [v["name"] for v in matched]
        found: dict[str, Any] = {}
        for version in matched:
            inside = self.glob(f"{version['name']}/{rest}", maxdepth=maxdepth, **{**kwargs, "detail": True})
            found.update(inside)
        return found if detail else list(found)

    # -- reading ------------------------------------------------------------------------------------

    def _version_by_id(self, artifact_id: str) -> Version:
        """A version named by its GraphQL ID (what `wandb-artifact://` references carry), looked up once."""
        with self._lock:
            known = self._versions_by_id.get(artifact_id)
        if known is not None:
            return known
        found = self.api.client.operations.artifact_by_id(artifact_id, f"looking up artifact {artifact_id}")
        if found is None:
            raise NotFoundError(f"no artifact version has the ID {artifact_id!r}", kind="version", path=artifact_id)
        artifact = Artifact._from_source(self.api.client, found, ("", ""))
        version = Version(artifact, None)
        with self._lock:
            self._versions_by_id[artifact_id] = version
        return version

    def _follow(self, version: Version, entry: ManifestEntry) -> tuple[Version, ManifestEntry]:
        """The version and stored entry a `wandb-artifact://` entry points at (chains followed, as the SDK does)."""

        def lookup(artifact_id: str, path: str) -> tuple[Version, ManifestEntry]:
            target = self._version_by_id(artifact_id)
            found = self._tree(target).files.get(path)
            if found is None:
                raise NotFoundError(
                    f"{entry.path} references {path!r} of {target.artifact.qualified_name}, which has no such file",
                    kind="file",
                    path=entry.path,
                )
            return target, found

        return follow(entry, version, lookup)

    def _byte_source(self, version: Version, entry: ManifestEntry) -> tuple[RangeSource, Spool | None]:
        """Where the bytes of `entry` (a reference followed to its file) are read from, and its spool."""
        version, entry = self._follow(version, entry)
        where = f"{version.artifact.qualified_name}/{entry.path}"
        urls = file_urls(self, version, entry.path)
        source, spool = open_ranges(
            entry, self.api.client.transport, self.cache, urls, spool=self.cache_reads, where=where
        )
        if spool is not None:
            self._remove_abandoned_temps()
        return source, spool

    def _remove_abandoned_temps(self) -> None:
        """Once per filesystem, before its first spool: delete what crashed readers left in the cache."""
        with self._lock:
            if self._swept:
                return
            self._swept = True
        try:
            removed = self.cache.abandoned_temps(remove=True)
        except OSError as exc:  # a read-only cache still reads
            logger.debug("could not look for abandoned temp files in %s: %s", self.cache.partial, exc)
            return
        if removed:
            logger.info("removed %d abandoned temp files from %s", len(removed), self.cache.partial)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AbstractBufferedFile:
        if mode != "rb":
            return self._open_for_writing(path, mode)
        with translated(path):
            ref = self._parse(path)
            _, version = self._version_of(path, fresh=True, files=[ref.path] if ref.path else [])
            tree = self._tree(version)
            entry = tree.files.get(ref.path)
            if entry is None or ref.path in tree.dirs:
                if ref.path in tree.dirs:
                    raise IsADirectoryError(errno.EISDIR, "is a folder of the artifact", path)
                not_found(path, f"{ref.inside(ref.path)}: no such file in {version.artifact.qualified_name}")
            source, spool = self._byte_source(version, entry)
            info = file_info(ref, version.artifact, entry)
            if entry.is_artifact_reference:  # its size and MD5 are those of the file it points at
                target = self._follow(version, entry)[1]
                info.update(size=target.size, md5=target.md5_hex)
        return ArtifactFile(
            self,
            path,
            info,
            source,
            spool,
            block_size=block_size or self.blocksize,
            cache_type=kwargs.get("cache_type", "readahead"),
            cache_options=cache_options,
        )

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """The bytes of a file, or of [start, end) (negative: from the end), in one request."""
        with self._open(path, cache_type="none") as f:
            size = f.size
            begin = 0 if start is None else (max(0, size + start) if start < 0 else min(start, size))
            stop = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
            if stop <= begin:
                return b""
            f.seek(begin)
            data: bytes = f.read(stop - begin)
            return data

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """The bytes of many files (`path`: a list, a glob or a folder with `recursive`), as fsspec's `cat`.

        Each alias named is resolved once for the whole call, so every file comes from the same
        version, and the download URLs are asked for in batches of 100: one lookup, the manifest
        and one URL request per 100 files, then one GET per file (none for files in the cache).
        """
        with self._pinned(path):
            with translated(str(path)):
                paths = self.expand_path(path, recursive=recursive)
                self._fetch_urls(paths)
            # fsspec's own rule for the answer's shape; the files are expanded once, above.
            if len(paths) > 1 or isinstance(path, list) or paths[0] != self._strip_protocol(path):
                return super().cat(paths, on_error=on_error, **kwargs)
            return self.cat_file(paths[0], **kwargs)

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int],
        ends: int | list[int],
        max_gap: Any = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Byte ranges of files (fsspec's `cat_ranges`), each alias resolved once for the whole call."""
        with self._pinned(paths):
            with translated(str(paths)):
                self._fetch_urls(list(dict.fromkeys(paths)))
            return super().cat_ranges(paths, starts, ends, max_gap=max_gap, on_error=on_error, **kwargs)  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _pinned(self, paths: Any) -> Iterator[None]:
        """Resolve each alias among `paths` now (asking the server) and keep that version for the block."""
        if getattr(self._batch, "pinned", None) is not None:  # nested: the outer block pinned already
            yield
            return
        pinned: dict[tuple[str, str, str, str], Version] = {}
        for raw in [paths] if isinstance(paths, str) else list(paths):
            ref = self._parse(raw)
            if ref.project is None or ref.collection is None or ref.alias is None or GLOB_MAGIC.search(ref.alias):
                continue  # a pattern over versions (`ds:v*`) pins each version it matches, by number
            key = (ref.entity, ref.project, ref.collection, ref.alias)
            if key not in pinned:
                try:
                    with translated(raw):
                        pinned[key] = self._resolve(ref, fresh=True)
                except FileNotFoundError:
                    continue  # reported per file, as `on_error` asks
        self._batch.pinned = pinned
        try:
            yield
        finally:
            self._batch.pinned = None

    def _fetch_urls(self, paths: list[str]) -> None:
        """Ask for the download URLs of the stored files among `paths` that need one, 100 per request."""
        wanted: dict[int, tuple[Version, list[str]]] = {}
        for raw in paths:
            ref = self._parse(raw)
            if ref.alias is None or not ref.path:
                continue
            try:
                version = self._resolve(ref)
            except NotFoundError:
                continue
            entry = self._tree(version).files.get(ref.path)
            if entry is None or entry.ref is not None or ref.path in version.file_urls:
                continue
            if self.cache.lookup("md5", entry.md5_hex, entry.size, touch=False) is None:
                wanted.setdefault(id(version), (version, []))[1].append(ref.path)
        for version, names in wanted.values():
            for first in range(0, len(names), URL_BATCH):
                chunk = names[first : first + URL_BATCH]
                for file in version.artifact.files(names=chunk, per_page=URL_BATCH):
                    version.file_urls[file.name] = file.direct_url

    # -- downloading -----------------------------------------------------------------------------------

    def get(self, rpath: Any, lpath: Any, recursive: bool = False, **kwargs: Any) -> None:
        """Download files (a folder with `recursive=True`) through the download engine: verified,
        cached and resumable; one batch of URL requests per version rather than one per file.

        Each alias named is asked for once when the call starts (as `open` and `cat` do), so the
        files all come from the version it names now, not from one an earlier listing saw.
        """
        pairs: list[tuple[str, str]] = []
        with self._pinned(rpath):
            self._collecting.pairs = pairs
            try:
                super().get(rpath, lpath, recursive=recursive, **kwargs)
            finally:
                self._collecting.pairs = None
            self._download(pairs, os.fspath(lpath) if isinstance(lpath, (str, os.PathLike)) else None)

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any) -> None:
        pairs = getattr(self._collecting, "pairs", None)
        if pairs is not None:
            pairs.append((rpath, lpath))
        else:
            self._download([(rpath, lpath)])

    def _download(self, pairs: list[tuple[str, str]], root: str | None = None) -> None:
        """Download (rpath, lpath) pairs; `root` is the destination the caller named (None: each lpath's folder).

        Every destination is checked before anything is written: a folder under `root` that
        resolves outside it (a symlink) is refused with `ValueError` (cause `UnsafePathError`).
        """
        groups: dict[int, tuple[Version, Tree, list[tuple[str, str]]]] = {}
        folders: list[str] = []
        for rpath, lpath in pairs:
            with translated(rpath):
                check_destination(lpath, root)
                ref = self._parse(rpath)
                if ref.alias is None:
                    folders.append(lpath)
                    continue
                version = self._resolve(ref)
                tree = self._tree(version)
            if ref.path in tree.dirs:
                folders.append(lpath)
            elif ref.path in tree.files:
                groups.setdefault(id(version), (version, tree, []))[2].append((ref.path, lpath))
            else:
                not_found(rpath, f"{rpath}: no such file or folder in {version.artifact.qualified_name}")
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
        for version, tree, items in groups.values():
            with translated(version.artifact.qualified_name):
                download_version(version, tree, items)

    # -- writing ------------------------------------------------------------------------------------------

    def _refuse_write(self, path: str, what: str) -> NoReturn:
        raise PermissionError(
            errno.EROFS,
            f"wandb:// is read-only outside a transaction ({what}); write inside `with fs.transaction:`, "
            "which creates one new version per collection when the block ends",
            path,
        )

    def _open_for_writing(self, path: str, mode: str) -> AbstractBufferedFile:
        if mode not in ("wb", "xb"):
            raise NotImplementedError(f"mode {mode!r} is not supported: artifact versions are written whole ('wb')")
        if not self._intrans:
            self._refuse_write(path, f"open(mode={mode!r})")
        ref = self._parse(path)
        if ref.collection is None or ref.alias is not None or not ref.path:
            raise InvalidNameError(
                f"cannot write {path!r}: versions are immutable; write into the next version of a collection",
                expected="'wandb://ENTITY/PROJECT/COLLECTION/path/in/artifact' (no version)",
            )
        return StagedFile(self, path, ref, self.transaction)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Folders exist by holding files: a no-op inside a transaction."""
        if not self._intrans:
            self._refuse_write(path, "makedirs")

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.makedirs(path, exist_ok=True)

    def _rm(self, path: str) -> None:
        raise PermissionError(errno.EROFS, "artifact versions are immutable; files cannot be removed", path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        self._rm(path if isinstance(path, str) else str(path))

    def rmdir(self, path: str) -> None:
        self._rm(path)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        if not self._intrans:
            self._refuse_write(path2, "copy")
        with self.open(path1, "rb") as source, self.open(path2, "wb") as target:
            shutil.copyfileobj(source, target, self.blocksize)

    def mv(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        self._rm(str(path1))

    def created(self, path: str) -> datetime:
        """When the version holding `path` was created (timezone-aware UTC)."""
        created = self.info(path).get("created")
        if created is None:
            raise NotImplementedError(f"{path!r} is above a version: only versions and their files have a time")
        return created  # type: ignore[no-any-return]

    def modified(self, path: str) -> datetime:
        """The same as `created`: the files of a version never change once it exists."""
        return self.created(path)

    def ukey(self, path: str) -> str:
        """A key that changes when the content does: a file's digest, a version's digest, a folder's version ID."""
        info = self.info(path)
        return str(info.get("digest") or info.get("artifact_id") or info["name"])

    def checksum(self, path: str) -> int:
        """An integer from `ukey`: the same for the same content, however aliases and listings change."""
        return int(hashlib.md5(self.ukey(path).encode(), usedforsecurity=False).hexdigest(), 16)

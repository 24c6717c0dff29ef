"""`wandb://` paths for fsspec: artifact files read (and, in a transaction, written) like any other files.

    import pandas as pd
    df = pd.read_csv("wandb://my-team/my-project/dataset:v3/train/part-0.csv")

Paths are `wandb://ENTITY/PROJECT/COLLECTION:VERSION_OR_ALIAS/path/in/artifact`. Listing
`wandb://ENTITY` gives the entity's projects, `wandb://ENTITY/PROJECT` the project's collections,
`.../COLLECTION` its versions, and a version its files and folders, these from the version's
manifest (fetched once per version and kept in the shared cache). `open()` returns a seekable
file that reads byte ranges through signed URLs in read-ahead blocks: reading a few KiB of a
50 GB file transfers about one block. A file read from start to end is verified against its MD5
and lands in the shared cache, so the next open reads it from disk;
`get()` goes through the download engine (verified, cached, resumable).

The filesystem is read-only except inside `with fs.transaction:`; files written there
(`open(..., "wb")`, `put`, `pipe`) under `wandb://ENTITY/PROJECT/COLLECTION/path` become one new version
of each collection when the block ends without an exception, through the same upload as `Api.upload`.
An abandoned transaction sends nothing.

Installed with `pip install 'artifactkit[fsspec]'`; fsspec finds the class through the package's
`fsspec.specs` entry point (`artifactkit.fs:ArtifactFileSystem`). Configuration is `Api`'s:
storage options `api_key`, `base_url`, `cache_dir`, `timeout`, else the `WANDB_*` environment
variables, `~/.netrc` or a running `artifactkit serve`.

The package, by concern: `paths` (parsing and checking `wandb://` paths), `tree` (a version as
files and folders, the `info` dicts), `oserrors` (artifactkit's errors as fsspec's exceptions),
`reads` (`ArtifactFile` over the byte engine's `transfer.ranges`), `downloads` (`get`),
`writes` (transactions), `filesystem` (`ArtifactFileSystem`, resolving and listing).
"""

from __future__ import annotations

try:
    import fsspec  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("artifactkit.fs needs fsspec: pip install 'artifactkit[fsspec]'") from exc

from .filesystem import DEFAULT_BLOCK_SIZE, ArtifactFileSystem
from .paths import PATH_FORM, PROTOCOL, WandbPath, parse_path
from .reads import ArtifactFile
from .writes import VersionTransaction

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "PATH_FORM",
    "PROTOCOL",
    "ArtifactFile",
    "ArtifactFileSystem",
    "VersionTransaction",
    "WandbPath",
    "parse_path",
]

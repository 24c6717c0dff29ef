"""Where an `Api` gets its server, key, entity and project: the same places the wandb client looks.

Each setting takes the first value found, in this order (docs/configuration.md has the table):

1. the argument (or `overrides`, as `wandb.Api` takes them);
2. the `WANDB_*` environment variable;
3. the wandb settings files, section `[default]`: `./wandb/settings` (the workspace file, under
   `$WANDB_DIR` when set) over `$WANDB_CONFIG_DIR/settings` (default `~/.config/wandb/settings`);
4. for the API key only: the netrc entry for the server's `host:port` (what `wandb login` writes and
   wandb 0.31 reads), else for its bare `host` (what requests-based clients read);
5. the default: W&B cloud, `https://api.wandb.ai`.

A local emulator (`artifactkit serve`) is used when it is asked for (`base_url="local"`) or when no
server and no key are configured anywhere; its own key is the only one sent to it.
"""

from __future__ import annotations

import configparser
import logging
import netrc
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ._local import LocalServer, discovery_places, running_local_server
from .errors import ConfigurationError

log = logging.getLogger("artifactkit")

CLOUD_URL = "https://api.wandb.ai"
LOCAL = "local"
"""The `base_url` that asks for the running local emulator."""
DEFAULT_TIMEOUT = 30.0
SETTINGS_SECTION = "default"
SETTINGS_KEYS = ("base_url", "entity", "project", "organization")

_warned_netrc: set[Path] = set()


@dataclass(frozen=True)
class Config:
    """The resolved settings of one `Api`, and where each came from (for logs and error messages)."""

    base_url: str
    api_key: str = field(repr=False)
    entity: str | None
    project: str | None
    timeout: float
    sources: Mapping[str, str]
    local_server: LocalServer | None = None
    """The emulator `base_url` points at, when it was asked for or found running."""
    organization: str | None = None
    """The organization registry paths belong to when they name none (wandb's `organization` setting)."""

    @property
    def uses_local_server(self) -> bool:
        return self.local_server is not None


def config_dir(environ: Mapping[str, str]) -> Path:
    """`$WANDB_CONFIG_DIR`, else `~/.config/wandb` (where `wandb login --host` saves the server)."""
    configured = environ.get("WANDB_CONFIG_DIR")
    return Path(configured).expanduser() if configured else Path("~/.config/wandb").expanduser()


def settings_files(environ: Mapping[str, str], cwd: Path | None = None) -> list[Path]:
    """The global settings file, then the workspace one (which wins for keys both set)."""
    root = Path(environ.get("WANDB_DIR") or cwd or Path.cwd()).expanduser()
    workspace = root / (".wandb" if (root / ".wandb").is_dir() else "wandb") / "settings"
    return [config_dir(environ) / "settings", workspace]


def read_settings(paths: list[Path]) -> dict[str, tuple[str, Path]]:
    """`key -> (value, file)` from the `[default]` section of each file; later files win."""
    found: dict[str, tuple[str, Path]] = {}
    for path in paths:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with path.open(encoding="utf-8") as handle:
                parser.read_file(handle)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            log.warning("ignoring the wandb settings file %s: %s", path, exc)
            continue
        if parser.has_section(SETTINGS_SECTION):
            for key in SETTINGS_KEYS:
                value = parser.get(SETTINGS_SECTION, key, fallback="").strip()
                if value:
                    found[key] = (value, path)
    return found


def netrc_path(environ: Mapping[str, str]) -> Path:
    """`$NETRC`, else `~/.netrc` (or `~/_netrc` when only that exists, as on Windows)."""
    if environ.get("NETRC"):
        return Path(environ["NETRC"]).expanduser()
    unix = Path("~/.netrc").expanduser()
    windows = Path("~/_netrc").expanduser()
    if not unix.exists() and (windows.exists() or os.name == "nt"):
        return windows
    return unix


def netrc_key(base_url: str, environ: Mapping[str, str]) -> tuple[str, Path] | None:
    """The password of the netrc entry for the server (`host:port` as `wandb login` writes it, then `host`)."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        return None
    path = netrc_path(environ)
    try:
        mode = path.stat().st_mode
        entries = netrc.netrc(str(path))
    except FileNotFoundError:
        return None
    except (OSError, netrc.NetrcParseError) as exc:
        log.warning("ignoring the netrc file %s: %s", path, exc)
        return None
    for machine in dict.fromkeys((parts.netloc, parts.hostname)):
        credentials = entries.authenticators(machine)
        if credentials and credentials[2]:
            if os.name != "nt" and mode & (stat.S_IRWXG | stat.S_IRWXO) and path not in _warned_netrc:
                _warned_netrc.add(path)
                log.warning(
                    "the netrc file %s can be read by other users; it is used, but protect the key with `chmod 600 %s`",
                    path,
                    path,
                )
            return credentials[2], path
    return None


def parse_timeout(value: float | str, source: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError(f"timeout {value!r} ({source}) is not a number of seconds") from None
    if not seconds > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {value!r} ({source})")
    return seconds


def _same_server(one: str, other: str) -> bool:
    """Whether two server addresses name the same server (scheme, host and port; case and a trailing `/` aside)."""
    a, b = urlsplit(one.strip().rstrip("/")), urlsplit(other.strip().rstrip("/"))
    return (a.scheme.lower(), a.hostname, a.port, a.path.rstrip("/")) == (
        b.scheme.lower(),
        b.hostname,
        b.port,
        b.path.rstrip("/"),
    )


def _first(*candidates: tuple[object, str]) -> tuple[str | None, str]:
    for value, source in candidates:
        if value:
            return str(value), source
    return None, "not set"


def resolve(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    entity: str | None = None,
    project: str | None = None,
    timeout: float | None = None,
    organization: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    host_keys_only: bool = False,
    require_key: bool = True,
) -> Config:
    """Resolve every setting by the precedence above; raises `ConfigurationError` naming the arguments.

    With `host_keys_only`, `WANDB_API_KEY` is taken only for the server the environment or the
    settings files name (`WANDB_BASE_URL`, `base_url`, else W&B cloud): a second server (the other
    side of a mirror) gets its key from `api_key` or its own netrc entry, never another server's.
    `require_key=False` (offline: nothing will be sent) accepts no key at all.
    """
    env = os.environ if environ is None else environ
    settings = read_settings(settings_files(env, cwd))

    def from_settings(key: str) -> tuple[object, str]:
        value, path = settings.get(key, ("", Path()))
        return value, str(path)

    sources: dict[str, str] = {}
    base, sources["base_url"] = _first(
        (base_url, "argument base_url="), (env.get("WANDB_BASE_URL"), "WANDB_BASE_URL"), from_settings("base_url")
    )
    local: LocalServer | None = None
    if base is None:
        configured_key = api_key or env.get("WANDB_API_KEY") or netrc_key(CLOUD_URL, env)
        local = None if configured_key else running_local_server()
        if local is not None:
            base, sources["base_url"] = local.url, f"the running emulator ({local.state_file})"
            log.info("no W&B server or API key configured: using the local emulator at %s", local.url)
        else:
            base, sources["base_url"] = CLOUD_URL, "default (W&B cloud)"
    elif base.strip().lower() == LOCAL:
        local = running_local_server()
        if local is None:
            places = " or ".join(str(p) for p in discovery_places())
            raise ConfigurationError(
                f"no local emulator is running: none announced itself in {places}; start one with "
                "`artifactkit serve` (or set ARTIFACTKIT_DATA_DIR to the data directory of the one you started)"
            )
        base, sources["base_url"] = local.url, f"the running emulator ({local.state_file})"
        log.info("using the local emulator at %s", local.url)
    base = base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"base_url {base!r} ({sources['base_url']}) must start with http:// or https://, or be 'local'"
        )

    key: str | None
    if local is not None:
        # Only the emulator's own key (or one passed for it explicitly): a key configured for
        # another host never leaves for this one.
        key, sources["api_key"] = _first((api_key, "argument api_key="), (local.api_key, "the running emulator"))
    else:
        env_key = env.get("WANDB_API_KEY")
        if env_key and host_keys_only:
            configured = env.get("WANDB_BASE_URL") or settings.get("base_url", ("", Path()))[0] or CLOUD_URL
            if not _same_server(configured, base):
                log.debug("WANDB_API_KEY is for %s, not %s: not sent there", configured, base)
                env_key = None
        key, sources["api_key"] = _first((api_key, "argument api_key="), (env_key, "WANDB_API_KEY"))
        if key is None and (found := netrc_key(base, env)) is not None:
            key, sources["api_key"] = found[0], f"netrc {found[1]}"
        if key is None:
            running = running_local_server()
            if running is not None and running.url == base:
                key, sources["api_key"] = running.api_key, "the running emulator"
    if not key and not require_key:
        key, sources["api_key"] = "", "none (offline: nothing is sent)"
    if key is None or (not key and require_key):
        default = " (the default server)" if sources["base_url"].startswith("default") else ""
        raise ConfigurationError(
            f"no API key for {base}{default}: pass api_key=, set WANDB_API_KEY, or run `wandb login --host {base}` "
            f"(it saves the key in {netrc_path(env)}); for a local emulator pass base_url='local'"
        )

    entity_value, sources["entity"] = _first(
        (entity, "argument entity="), (env.get("WANDB_ENTITY"), "WANDB_ENTITY"), from_settings("entity")
    )
    project_value, sources["project"] = _first(
        (project, "argument project="), (env.get("WANDB_PROJECT"), "WANDB_PROJECT"), from_settings("project")
    )
    organization_value, sources["organization"] = _first(
        (organization, "argument organization="),
        (env.get("WANDB_ORGANIZATION"), "WANDB_ORGANIZATION"),
        from_settings("organization"),
    )
    if timeout is not None:
        seconds, sources["timeout"] = parse_timeout(timeout, "argument timeout="), "argument timeout="
    elif env.get("WANDB_HTTP_TIMEOUT"):
        seconds, sources["timeout"] = (
            parse_timeout(env["WANDB_HTTP_TIMEOUT"], "WANDB_HTTP_TIMEOUT"),
            "WANDB_HTTP_TIMEOUT",
        )
    else:
        seconds, sources["timeout"] = DEFAULT_TIMEOUT, "default"
    config = Config(
        base_url=base,
        api_key=key,
        entity=entity_value,
        project=project_value,
        timeout=seconds,
        sources=sources,
        local_server=local,
        organization=organization_value,
    )
    log.info("server %s (from %s); API key from %s", base, sources["base_url"], sources["api_key"])
    log.debug(
        "configuration: %s",
        ", ".join(f"{name} from {source}" for name, source in sources.items()),
    )
    return config

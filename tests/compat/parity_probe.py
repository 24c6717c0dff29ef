"""What a class offers its users, listed with `inspect`: the two halves of the parity check share this.

Run as `<venv>/bin/python parity_probe.py CONFIG.json` inside an official client's environment, it lists
the public members of wandb's classes (and reads the values of their properties and attributes on live
objects fetched from an emulator) and prints one JSON document. `tests/compat/parity.py` imports the
same functions to list artifactkit's classes, so both sides are described by one piece of code.

Only the standard library is imported at module level; `wandb` is imported inside `main()`.

A member is described by its kind (`method`, `classmethod`, `staticmethod`, `property`, `attribute`;
`field` for what a wandb object answers through `__getattr__` from the fields the server sent;
`function` for a module's functions), whether a property can be set, its parameters (name, kind,
default) and, on a live object, the type of its value (`describe_value`) and the value itself when
it is plain data.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

# Protocol methods a user reaches through syntax (`len(x)`, `for x in ...`, `x[0]`, `next(x)`, `with`).
PROTOCOLS = ("__init__", "__len__", "__iter__", "__next__", "__getitem__", "__contains__", "__enter__", "__exit__")
PLAIN = (type(None), bool, int, float, str)
UNREADABLE = "unreadable"  # a value that could not be read (see `error`)


def member_kind(raw: Any) -> str:
    """The kind of a class attribute as `inspect.getattr_static` finds it."""
    if isinstance(raw, property):
        return "property"
    if isinstance(raw, classmethod):
        return "classmethod"
    if isinstance(raw, staticmethod):
        return "staticmethod"
    if type(raw).__name__ == "cached_property":
        return "property"
    if inspect.isfunction(raw) or inspect.ismethoddescriptor(raw) or inspect.isbuiltin(raw):
        return "method"
    return "attribute"


def _default(value: Any) -> str:
    """A parameter's default as text: the literal for plain values, `<object>` for anything else."""
    if value is inspect.Parameter.empty:
        return ""
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, PLAIN) or (isinstance(value, tuple) and all(isinstance(v, PLAIN) for v in value)):
        return repr(value)
    return "<object>"


def parameters(function: Callable[..., Any], *, bound: bool) -> list[list[str]] | None:
    """`[name, kind, default]` per parameter; the first is dropped for methods and classmethods (`bound`)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    params = list(signature.parameters.values())
    if bound and params:
        params = params[1:]
    return [[p.name, p.kind.name, _default(p.default)] for p in params]


def describe_value(value: Any, depth: int = 0) -> str:
    """The type of a value as the parity check compares it.

    Plain types by name (a `str` enum is a `str`), containers with the types of their items
    (`list[str]`, `dict[str, int]`), anything else by its class name.
    """
    for plain in (bool, int, float, str):
        if isinstance(value, plain):
            return plain.__name__
    if value is None:
        return "None"
    for moment in (datetime, date, time, timedelta):
        if isinstance(value, moment):
            return moment.__name__
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 2:
        name = "list" if isinstance(value, list) else type(value).__name__
        items = sorted({describe_value(v, depth + 1) for v in value})
        return f"{name}[{' | '.join(items)}]" if items else name
    if type(value) is dict and depth < 2:
        keys = sorted({describe_value(k, depth + 1) for k in value})
        values = sorted({describe_value(v, depth + 1) for v in value.values()})
        return f"dict[{' | '.join(keys)}, {' | '.join(values)}]" if value else "dict"
    return type(value).__name__


def plain_value(value: Any, depth: int = 0) -> tuple[bool, Any]:
    """`(True, value as JSON data)` for plain data (scalars, lists and dicts of them), else `(False, None)`."""
    if isinstance(value, enum.Enum):
        return False, None
    if isinstance(value, bool) or value is None:
        return True, value
    for plain in (int, float, str):
        if isinstance(value, plain):
            return True, plain(value)
    if depth < 3 and isinstance(value, (list, tuple)):
        items = [plain_value(v, depth + 1) for v in value]
        return (True, [v for _, v in items]) if all(ok for ok, _ in items) else (False, None)
    if depth < 3 and type(value) is dict and all(isinstance(k, str) for k in value):
        pairs = {k: plain_value(v, depth + 1) for k, v in value.items()}
        return (True, {k: v for k, (_, v) in pairs.items()}) if all(ok for ok, _ in pairs.values()) else (False, None)
    return False, None


def _public(name: str) -> bool:
    return not name.startswith("_")


def _static_names(cls: type) -> list[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name in vars(klass):
            if _public(name) or (name in PROTOCOLS and name != "__init__"):
                names.add(name)
    names.add("__init__")
    return sorted(names)


def describe_class(cls: type, live: Any = None, dynamic: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Every public member of `cls` (and the protocol methods it defines), described.

    `live` is an instance whose instance attributes count as members and whose properties and
    attributes are read for their values; `dynamic` names attributes a live object answers
    through `__getattr__`, which `inspect` cannot see.
    """
    members: dict[str, dict[str, Any]] = {}
    for name in _static_names(cls):
        raw = inspect.getattr_static(cls, name)
        if name in PROTOCOLS and (raw is getattr(object, name, None) or raw is None):
            continue
        kind = member_kind(raw)
        member: dict[str, Any] = {"kind": kind}
        if kind == "property":
            member["settable"] = getattr(raw, "fset", None) is not None or type(raw).__name__ == "cached_property"
        elif kind in ("method", "classmethod", "staticmethod"):
            function = raw.__func__ if kind in ("classmethod", "staticmethod") else raw
            member["parameters"] = parameters(function, bound=kind != "staticmethod")
        members[name] = member
    if live is not None:
        for name in sorted(vars(live)) if hasattr(live, "__dict__") else ():
            if _public(name) and name not in members:
                members[name] = {"kind": "attribute"}
        for name in dynamic:
            if name not in members:
                members[name] = {"kind": "field"}
        for name, member in members.items():
            if member["kind"] in ("property", "attribute", "field"):
                member.update(read_value(live, name))
    return members


def read_value(live: Any, name: str) -> dict[str, Any]:
    """What reading `live.<name>` gives: the value's type, and the value when it is plain data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = getattr(live, name)
        except Exception as exc:  # a member that cannot be read here says why
            return {"value_type": UNREADABLE, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    described: dict[str, Any] = {"value_type": describe_value(value)}
    ok, data = plain_value(value)
    if ok and len(json.dumps(data, default=str)) <= 4000:
        described["value"] = data
    return described


def describe_function(function: Callable[..., Any]) -> dict[str, Any]:
    return {"kind": "function", "parameters": parameters(function, bound=False)}


def snake_case(name: str) -> str:
    """`jobType` -> `job_type`, the attribute name wandb's `Attrs` answers for a field."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------- inside wandb's environment


def _dynamic(obj: Any) -> list[str]:
    """The attributes a wandb `Attrs` object answers from the fields the server sent."""
    fields = getattr(obj, "_attrs", None)
    if not isinstance(fields, Mapping):
        return []
    names = []
    for key in fields:
        name = snake_case(key)
        if not _public(name) or not name.isidentifier():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(obj, name)
        except Exception:
            continue
        names.append(name)
    return sorted(set(names))


def _wandb_inventory(config: Mapping[str, Any]) -> dict[str, Any]:
    import wandb
    from wandb.apis import public
    from wandb.apis.public import artifacts as public_artifacts

    api = wandb.Api(api_key=config["api_key"], overrides={"base_url": config["base_url"]}, timeout=30)
    entity, project = config["entity"], config["project"]
    prefix = f"{entity}/{project}"
    artifact = api.artifact(f"{prefix}/{config['collection']}:v0")
    run = api.run(f"{prefix}/{config['run']}")
    loaded = api.project(project, entity)
    _ = loaded.id  # loads the project's fields
    files = artifact.files()
    file = next(iter(files))
    listings: dict[str, Any] = {
        "ArtifactTypes": api.artifact_types(prefix),
        "ArtifactCollections": api.artifact_collections(prefix, config["type"]),
        "Artifacts": api.artifacts(config["type"], f"{prefix}/{config['collection']}"),
        "RunArtifacts": run.logged_artifacts(),
        "ArtifactFiles": artifact.files(),
    }
    for listing in listings.values():
        list(listing)  # walked to the end, so cursors and counters hold their final values
    live: dict[str, tuple[type, Any]] = {
        "Api": (public.Api, api),
        "Artifact": (wandb.Artifact, artifact),
        "ArtifactCollection": (public_artifacts.ArtifactCollection, artifact.collection),
        "ArtifactType": (public_artifacts.ArtifactType, api.artifact_type(config["type"], prefix)),
        "Project": (public.Project, loaded),
        "Run": (public.Run, run),
        "File": (public.File, file),
    }
    live.update({name: (getattr(public_artifacts, name), obj) for name, obj in listings.items()})
    classes = {}
    for name, (cls, obj) in live.items():
        classes[name] = {
            "qualname": f"{cls.__module__}.{cls.__qualname__}",
            "members": describe_class(cls, obj, _dynamic(obj)),
        }
    return {"version": wandb.__version__, "classes": classes}


def _wandb_functions(names: Iterable[str]) -> dict[str, Any]:
    import wandb
    from wandb.apis.public import artifacts as public_artifacts

    found = {name: describe_function(getattr(public_artifacts, name)) for name in names}
    return {"version": wandb.__version__, "functions": found}


def main() -> int:
    config = json.loads(Path(sys.argv[1]).read_text())
    functions = config.get("functions")
    result = _wandb_functions(functions) if functions else _wandb_inventory(config)
    sys.stdout.write(json.dumps(result, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

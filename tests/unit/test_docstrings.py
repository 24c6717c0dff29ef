"""Every public member has a docstring: the API reference (make docs) and IDE hovers are built from them."""

from __future__ import annotations

import inspect

import artifactkit


def public_members() -> list[tuple[str, object]]:
    """Each name in `artifactkit.__all__`, and the public methods and properties of its classes."""
    members: list[tuple[str, object]] = []
    for name in artifactkit.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(artifactkit, name)
        if inspect.ismodule(obj):
            members += [(f"{name}.{n}", getattr(obj, n)) for n in getattr(obj, "__all__", [])]
            continue
        members.append((name, obj))
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                if inspect.isfunction(function):
                    members.append((f"{name}.{attr}", function))
    return members


def test_every_public_member_is_documented() -> None:
    members = public_members()
    assert len(members) > 140  # the walk found the API, not an empty list
    undocumented = [name for name, obj in members if not (getattr(obj, "__doc__", None) or "").strip()]
    assert undocumented == []

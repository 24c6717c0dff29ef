"""The emulator's SQL lives in its store layer: routes, auth, resolvers and checks call named queries.

A statement written anywhere else is a query nobody can find, batch or plan-check; this keeps the
rule from eroding one inline statement at a time.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import artifactkit.server

SERVER = Path(artifactkit.server.__file__).parent

# store.py: the Store and its named queries; listings.py / pagination.py: the paged row sets and
# their keyset SQL; filters.py: W&B filter documents compiled to WHERE clauses; records.py: the
# lookups and inserts that apply W&B's name rules.
STORE_LAYER = {"store.py", "listings.py", "pagination.py", "filters.py", "records.py"}

_SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|PRAGMA|ALTER|CREATE|DROP|WITH|BEGIN)\s+\S")
_RAW_CALLS = {"execute", "executemany", "executescript", "one", "all", "scalar", "integer", "counted"}


def sql_outside_the_store_layer(path: Path) -> list[str]:
    """`file:line` of each SQL string or raw statement call in a module outside the store layer."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL_TEXT.match(node.value):
            found.append(f"{path.name}:{node.lineno}: SQL text {node.value[:40]!r}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _RAW_CALLS
            and node.args
            and not (isinstance(node.args[0], ast.Constant) and not isinstance(node.args[0].value, str))
            and _raw_receiver(node.func.value)
        ):
            found.append(f"{path.name}:{node.lineno}: raw statement call .{node.func.attr}(...)")
    return found


def _raw_receiver(value: ast.expr) -> bool:
    """Whether `value` names a store or a connection (`store`, `self.store`, `store.conn`, `conn`, ...)."""
    name = value.attr if isinstance(value, ast.Attribute) else value.id if isinstance(value, ast.Name) else ""
    return name in {"store", "conn", "connection", "db", "cursor", "cur"}


def test_no_module_outside_the_store_layer_writes_sql() -> None:
    modules = sorted(p for p in SERVER.glob("*.py") if p.name not in STORE_LAYER)
    assert len(modules) > 10  # the scan sees the server package, not an empty directory
    found = [hit for path in modules for hit in sql_outside_the_store_layer(path)]
    assert found == []


def test_the_scan_finds_inline_statements(tmp_path: Path) -> None:
    route = tmp_path / "route.py"
    route.write_text(
        "def stream(store, run_id):\n"
        "    row = store.one(query, (run_id,))\n"
        "    store.conn.execute('UPDATE runs SET state = ? WHERE id = ?', ('x', run_id))\n"
        "    return self.store.all(\n        'SELECT * FROM runs'\n    )\n"
    )
    assert sorted(sql_outside_the_store_layer(route)) == [
        "route.py:2: raw statement call .one(...)",
        "route.py:3: SQL text 'UPDATE runs SET state = ? WHERE id = ?'",
        "route.py:3: raw statement call .execute(...)",
        "route.py:4: raw statement call .all(...)",
        "route.py:5: SQL text 'SELECT * FROM runs'",
    ]


def test_named_queries_are_not_flagged(tmp_path: Path) -> None:
    route = tmp_path / "route.py"
    route.write_text(
        "def stream(store, request):\n"
        "    if request.method == 'DELETE':\n"
        "        store.heartbeat_run(1, None)\n"
        "    return all(x for x in store.files_of(1))\n"
    )
    assert sql_outside_the_store_layer(route) == []

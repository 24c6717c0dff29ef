"""What `Artifacts` sends as `filters`: the user's filter, committed versions by default, tags."""

from __future__ import annotations

from typing import Any

import pytest

from artifactkit import Api, Artifacts


@pytest.fixture
def api() -> Any:
    with Api(api_key="k" * 40, base_url="https://wandb.example.test") as client:
        yield client


def versions(api: Api, **kwargs: Any) -> Artifacts:
    return Artifacts(api.client, "team", "project", "data", "dataset", **kwargs)


def test_committed_versions_are_the_default(api: Api) -> None:
    assert versions(api).filters == {"state": "COMMITTED"}
    assert versions(api, filters={"metadata.split": "train"}).filters == {
        "$and": [{"metadata.split": "train"}, {"state": "COMMITTED"}]
    }


def test_a_state_anywhere_in_the_filter_is_left_alone(api: Api) -> None:
    either = {"$or": [{"state": "COMMITTED"}, {"state": "PENDING"}]}
    assert versions(api, filters=either).filters == either
    nested = {"$and": [{"metadata.a": 1}, {"$not": {"state": "DELETED"}}]}
    assert versions(api, filters=nested).filters == nested
    assert versions(api, filters={"state": "PENDING"}).filters == {"state": "PENDING"}

"""`wandb-artifact://<hex artifact id>/<path>`: how the official client records a file of another version."""

from __future__ import annotations

import pytest

from artifactkit.manifest import ManifestEntry, ManifestError, artifact_reference, parse_artifact_reference


def test_the_id_travels_as_the_hex_of_its_base64_bytes() -> None:
    # base64("Artifact:102") is the GraphQL ID; the URI carries the hex of those 12 bytes
    uri = artifact_reference("QXJ0aWZhY3Q6MTAy", "data/c.txt")
    assert uri == "wandb-artifact://41727469666163743a313032/data/c.txt"
    assert parse_artifact_reference(uri) == ("QXJ0aWZhY3Q6MTAy", "data/c.txt")


def test_an_entry_knows_it_points_into_another_artifact() -> None:
    entry = ManifestEntry("x.txt", "uGlNgnwPE/Iu07xhDBnsFQ==", 0, ref="wandb-artifact://4172/x.txt")
    assert entry.is_reference and entry.is_artifact_reference
    assert not ManifestEntry("y", "etag", 1, ref="https://example.test/y").is_artifact_reference


@pytest.mark.parametrize(
    "uri",
    [
        "wandb-artifact://not-hex/x.txt",
        "wandb-artifact:///x.txt",
        "wandb-artifact://4172/../etc/passwd",
        "wandb-artifact://4172/",
        "https://example.test/x",
    ],
)
def test_malformed_or_unsafe_references_are_refused(uri: str) -> None:
    with pytest.raises(ManifestError):
        parse_artifact_reference(uri)

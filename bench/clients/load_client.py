"""One load-generating client: asks for pages of 50 versions for a fixed time, records latencies.

Usage: load_client.py BASE_URL API_KEY ENTITY PROJECT COLLECTION SECONDS
"""

from __future__ import annotations

import json
import random
import sys
import time

import httpx

DOCUMENT = """
query Page($entity: String!, $project: String!, $collection: String!, $cursor: String) {
  project(entityName: $entity, name: $project) {
    artifactCollection(name: $collection) {
      artifacts(after: $cursor, first: 50, filters: "{\\"state\\": \\"COMMITTED\\"}") {
        totalCount
        pageInfo { endCursor hasNextPage }
        edges { version node { id digest state size fileCount createdAt versionIndex
                               aliases { alias } tags { name } artifactType { name } } }
      }
    }
  }
}
"""


def main() -> None:
    url, key, entity, project, collection, seconds = sys.argv[1:7]
    deadline = time.monotonic() + float(seconds)
    latencies: list[float] = []
    errors = 0
    cursors: list[str | None] = [None]
    rng = random.Random()
    with httpx.Client(base_url=url, auth=("api", key), timeout=60) as client:
        while time.monotonic() < deadline:
            cursor = rng.choice(cursors)
            start = time.perf_counter()
            response = client.post(
                "/graphql",
                json={
                    "query": DOCUMENT,
                    "variables": {"entity": entity, "project": project, "collection": collection, "cursor": cursor},
                },
            )
            latencies.append(time.perf_counter() - start)
            answer = response.json()  # decoded once: the load generators share the emulator's cores
            if response.status_code != 200 or "errors" in answer:
                errors += 1
                continue
            info = answer["data"]["project"]["artifactCollection"]["artifacts"]["pageInfo"]
            if info["hasNextPage"] and len(cursors) < 200:
                cursors.append(info["endCursor"])
    print(json.dumps({"latencies": latencies, "errors": errors}))


if __name__ == "__main__":
    main()

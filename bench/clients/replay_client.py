"""The floor under a listing: the same GraphQL requests artifactkit sent, replayed bare.

Usage: replay_client.py REQUESTS_FILE — one JSON request body per line, recorded from an
artifactkit listing (the same documents, variables and cursors). Each body is POSTed with httpx
in order and its answer decoded with `json.loads`; nothing is validated or built. What is left
is the HTTP round trips and the emulator's own time, so artifactkit / replay is what the SDK adds.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from common import argument, report


def replay() -> dict[str, Any]:
    import httpx  # timed, as `import artifactkit` is in the artifactkit client

    bodies = Path(argument(1)).read_bytes().splitlines()
    url = os.environ["WANDB_BASE_URL"].rstrip("/") + "/graphql"
    auth = ("api", os.environ["WANDB_API_KEY"])
    headers = {"content-type": "application/json"}
    cpu = time.process_time()
    items = 0
    with httpx.Client(auth=auth, timeout=120) as client:
        for body in bodies:
            response = client.post(url, content=body, headers=headers)
            response.raise_for_status()
            answer = json.loads(response.content)  # decoded, and nothing else: the floor the issue names
            items += "data" in answer
    return {"items": len(bodies), "cpu_seconds": time.process_time() - cpu, "answers_with_data": items}


if __name__ == "__main__":
    report(replay)

"""Operations routes: `/health` (open) and the `/_emulator/*` routes (admin keys only).

`/_emulator/stats` counts what was served (and, with `?log=1`, the recent GraphQL requests);
`/_emulator/faults` reads and changes the fault plan. Both can disturb or observe every other
client, so they take the admin key `serve` prints, never a user's read or write key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._version import __version__
from .auth import authenticate
from .faults import FaultPlan, FaultSpecError
from .graphql_route import error_response

if TYPE_CHECKING:
    from .app import Emulator

_MAX_PLAN_BYTES = 64 * 1024


class AdminRoutes:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _refused(self, request: Request) -> Response | None:
        principal = authenticate(self.emulator.store, request)
        if principal is None:
            return error_response("authentication required", "UNAUTHENTICATED", 401)
        if not principal.is_admin:
            return error_response(
                "the /_emulator routes need the admin key `artifactkit serve` prints", "PERMISSION_DENIED", 403
            )
        return None

    async def health(self, request: Request) -> Response:
        settings = self.emulator.settings
        return JSONResponse({"status": "ok", "version": __version__, "legacy": settings.legacy})

    async def stats(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        stats = self.emulator.stats
        if request.method == "DELETE":
            stats.reset()
            return Response(status_code=204)
        data = stats.snapshot()
        if request.query_params.get("log"):
            data["graphql_log"] = list(stats.graphql_log)
        return JSONResponse(data)

    async def faults(self, request: Request) -> Response:
        """GET the fault plan and what was injected; PUT a JSON object to change the plan."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        state = self.emulator.faults
        if request.method == "PUT":
            body = await self.emulator.graphql.bounded_body(request)
            try:
                if body is None or len(body) > _MAX_PLAN_BYTES:
                    raise FaultSpecError("the plan is too large")
                changes = json.loads(body)
                if not isinstance(changes, dict):
                    raise FaultSpecError("send a JSON object")
                state.configure(FaultPlan.from_mapping(changes, base=state.plan))
            except (ValueError, TypeError, RecursionError) as exc:  # FaultSpecError and JSON errors
                return error_response(f"bad fault plan: {exc}", "BAD_REQUEST", 400)
        plan = state.plan
        return JSONResponse(
            {
                "plan": {
                    "rate": plan.rate,
                    "seed": plan.seed,
                    "kinds": list(plan.kinds),
                    "routes": list(plan.routes),
                    "retry_after": plan.retry_after,
                    "stall_seconds": plan.stall_seconds,
                },
                "injected": dict(state.injected),
            }
        )

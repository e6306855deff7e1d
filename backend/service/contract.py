"""The service's HTTP contract, kept honest: one error body for every 4xx/5xx ({"error":
message}, request validation included), each route documents the statuses it can answer, the
OpenAPI schema is served only with the token (no /docs or /redoc), only loopback Host headers are
accepted (DNS rebinding), and OPTIONS on a path lists every method the path takes."""
from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
_REASONS = {400: "a body that cannot be parsed", 401: "missing or wrong token",
            404: "no such job or avatar", 409: "the job is not done, or is of another kind",
            413: "the upload is too large",
            422: "bad input; the message says what to change", 503: "busy or a shipped model is missing"}


class ErrorBody(BaseModel):
    error: str


def errors(*codes: int) -> dict:
    """`responses=` for a route: each status it can answer, with the one error body."""
    return {c: {"model": ErrorBody, "description": _REASONS[c]} for c in codes}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts) or "the request does not match the API schema (see /openapi.json)"


def add_contract(app: FastAPI, auth, hosts: list[str]) -> None:
    @app.exception_handler(StarletteHTTPException)   # FastAPI's own too (a malformed body, 405)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(auth)])
    def openapi_schema():
        return JSONResponse(app.openapi())

    for path, ops in app.openapi()["paths"].items():   # every documented path and its methods
        allow = ", ".join(sorted({m.upper() for m in ops} | {"OPTIONS"}))

        def options(allow=allow):
            return Response(status_code=204, headers={"Allow": allow})
        app.add_api_route(path, options, methods=["OPTIONS"], include_in_schema=False)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)

"""The explorer's web app: a JSON API (FastAPI) over an :class:`Explorer`, and the page that uses it.

    app = create_app(explorer, allowed_hosts=LOCAL_HOSTS)     # an ASGI app; `action2vec serve` runs it with uvicorn

Every error is ``{"error": "one line"}`` with a status: 400 bad input (empty query, a file that is not a
video, a value out of range), 404 unknown class, video, upload or preview, 413 an upload over the limit,
415 an upload not sent as a file, 500 a bug (the traceback goes to the server's log, never to the page).
Endpoints and examples: docs/explorer.md.
"""

from __future__ import annotations

import logging
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from action2vec.errors import Action2VecError
from action2vec.serve.explorer import Explorer, Neighbours, TooLarge
from action2vec.serve.files import NotFound

__all__ = ["create_app", "LOCAL_HOSTS", "STATIC_FILES"]

log = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # Host headers a server bound to the loopback answers
STATIC_FILES = {"app.js": "text/javascript", "style.css": "text/css"}  # the only files served besides the page
# Content types a web page may POST to another site without asking it first (CORS "simple" requests);
# an upload must come with another one, so no other site's page can make a visitor's browser upload.
_SIMPLE_TYPES = {"", "text/plain", "multipart/form-data", "application/x-www-form-urlencoded"}


def _static(name: str) -> bytes:
    return (resources.files("action2vec.serve") / "static" / name).read_bytes()


def _preview_url(key: str) -> str:
    return f"/api/preview?key={quote(key, safe='')}"


def _with_previews(doc: dict[str, Any]) -> dict[str, Any]:
    """A result's JSON with each video's preview URL (null when its file is not on disk)."""
    for video in doc.get("videos", []):
        video["preview"] = _preview_url(video["key"]) if video.pop("on_disk") else None
    return doc


def _neighbours_json(result: Neighbours, **query: Any) -> dict[str, Any]:
    return _with_previews({"query": query, **result.to_json()})


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 / 10 else f"{n:,} bytes"


def _upload_name(name: str) -> tuple[str, str]:
    """(name shown in messages, file suffix) of an uploaded file's name."""
    shown = Path(name.replace("\\", "/")).name[:200] or "upload"
    suffix = Path(shown).suffix.lower()
    return shown, suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


class RankRequest(BaseModel):
    """``POST /api/rank``: an upload's id and the label texts to rank."""

    upload: str
    labels: list[str]


def create_app(explorer: Explorer, allowed_hosts: Sequence[str] | None = LOCAL_HOSTS) -> FastAPI:
    """The FastAPI app serving ``explorer``. ``allowed_hosts``: the Host header names answered (the default,
    for a server on 127.0.0.1, keeps other web sites from reaching it through DNS rebinding); None: any."""
    app = FastAPI(title="Action2Vec explorer", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    _add_errors(app, None if allowed_hosts is None else {h.lower().strip("[]") for h in allowed_hosts})
    _add_page(app)
    _add_queries(app, explorer)
    _add_uploads(app, explorer)
    return app


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _add_errors(app: FastAPI, hosts: set[str] | None) -> None:
    """Every error as ``{"error": "one line"}``; requests for other host names refused."""

    @app.middleware("http")
    async def only_known_hosts(request: Request, call_next: Any) -> Any:
        host = (request.url.hostname or "").lower().strip("[]")
        if hosts is not None and host not in hosts:
            names = ", ".join(sorted(hosts))
            return _error(400, f"this server answers requests for {names}, not {host or '(no host)'}")
        return await call_next(request)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, str(exc))

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, exc: TooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(Action2VecError)
    async def bad_input(request: Request, exc: Action2VecError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":  # FastAPI says "27: JSON decode error" (27: the character)
            at = next((p for p in first.get("loc", ()) if isinstance(p, int)), None)
            reason = (first.get("ctx") or {}).get("error") or "not JSON"
            return _error(400, f"invalid JSON body: {reason}" + (f" (at character {at})" if at is not None else ""))
        where = " ".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body"))
        return _error(400, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = f"no such page or API endpoint: {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return _error(exc.status_code, message)

    @app.exception_handler(ClientDisconnect)
    async def gone(request: Request, exc: ClientDisconnect) -> Response:
        # the client went away before sending the whole request (a closed tab, a cancelled upload): not an
        # error of the server, and nobody is left to answer
        log.info("the client went away during %s %s", request.method, request.url.path)
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("error answering %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); the server's log has the details")


def _add_page(app: FastAPI) -> None:
    """The page and its two static files (by name from ``STATIC_FILES``; no other file is read)."""
    page = _static("index.html")
    static = {name: _static(name) for name in STATIC_FILES}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8")

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str) -> Response:
        if name not in static:
            raise NotFound(f"no static file {name!r}")
        return Response(static[name], media_type=f"{STATIC_FILES[name]}; charset=utf-8")


def _add_queries(app: FastAPI, explorer: Explorer) -> None:
    """Read-only questions: info, classes, text search, neighbours, analogy, map, previews."""

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        return explorer.info()

    @app.get("/api/classes")
    def classes() -> list[dict[str, Any]]:
        return explorer.class_list()

    @app.get("/api/search")
    def search(q: str = Query(..., max_length=1000), k: int = Query(10, ge=1, le=1000)) -> dict[str, Any]:
        return _neighbours_json(explorer.search_text(q, k), text=q)

    @app.get("/api/neighbours")
    def neighbours(
        class_: str | None = Query(None, alias="class"), key: str | None = None, k: int = Query(10, ge=1, le=1000)
    ) -> Any:
        if class_ is not None and key is None:
            return _neighbours_json(explorer.neighbours_of_class(class_, k), **{"class": class_})
        if key is not None and class_ is None:
            return _neighbours_json(explorer.neighbours_of_video(key, k), key=key)
        return _error(400, "give exactly one of class=NAME or key=VIDEO_KEY")

    @app.get("/api/analogy")
    def analogy(
        a: str = Query(..., max_length=1000),
        b: str = Query(..., max_length=1000),
        c: str = Query(..., max_length=1000),
        k: int = Query(5, ge=1, le=1000),
    ) -> dict[str, Any]:
        return explorer.analogy(a, b, c, k).to_json()

    @app.get("/api/map")
    def layout() -> dict[str, Any]:
        return {"method": explorer.settings.map_method, "points": [p.to_json() for p in explorer.map]}

    @app.get("/api/preview")
    def preview(key: str) -> Response:
        image = explorer.preview(key)
        return Response(image.data, media_type=image.media_type, headers={"Cache-Control": "max-age=3600"})


def _add_uploads(app: FastAPI, explorer: Explorer) -> None:
    """``POST /api/upload`` (the video as the raw body, size-checked while it streams) and ``POST /api/rank``."""

    @app.post("/api/upload")
    async def upload(
        request: Request, name: str = Query("upload", max_length=1000), k: int = Query(10, ge=1, le=1000)
    ) -> Any:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in _SIMPLE_TYPES:
            return _error(
                415,
                "send the video as the request body with its own content type (e.g. video/mp4 or "
                "application/octet-stream), not as a form",
            )
        shown, suffix = _upload_name(name)
        limit = explorer.max_upload_bytes
        too_large = f"more than the {explorer.settings.max_upload_mb:g} MiB limit (serve.max_upload_mb)"
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"{shown}: {_size(int(declared))}, {too_large}")
        with tempfile.TemporaryDirectory(prefix="action2vec-upload-") as folder:
            path = Path(folder) / f"video{suffix}"
            size = 0
            with open(path, "wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"{shown}: {too_large}")
                    fh.write(chunk)
            if size == 0:
                return _error(400, f"{shown}: the upload is empty")
            result = await run_in_threadpool(explorer.add_upload, path, shown, k)
        return _with_previews(result.to_json())

    @app.post("/api/rank")
    def rank(body: RankRequest) -> dict[str, Any]:
        ranking = explorer.rank_upload(body.upload, body.labels)
        return {"upload": body.upload, "ranking": [r.to_json() for r in ranking]}

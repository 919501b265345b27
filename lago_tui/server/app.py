"""The ASGI app: Lago's routes, the middleware that keeps it safe, and a hook for lago-tui's own routes.

Layers, outermost first: the access log, the header size limit, CORS (only with ``--cors``), the bearer
token (only with a token), Starlette's error handling (every error as JSON), the routes.

Extensions: each ``make_routes(state)`` in ``extensions`` (default :data:`EXTENSIONS`, which ``lago-tui
serve`` uses) has its routes mounted under :data:`LAGO_TUI_PREFIX` (``/lago-tui/v1``), beside Lago's own
routes, which stay exactly Lago's. They share the state (journal, committer, commit bell: ``state.bell``
wakes a waiter on any commit with ``state.ANY``) and all the middleware (token, CORS, limits, access log).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from . import lago_routes
from .accesslog import AccessLog
from .errors import EXCEPTION_HANDLERS
from .security import BearerAuth, HeaderLimit, cors_middleware
from .state import ServerState, Settings

LAGO_TUI_PREFIX = "/lago-tui/v1"
Extension = Callable[[ServerState], Sequence[BaseRoute]]
EXTENSIONS: tuple[Extension, ...] = ()  # lago-tui's own routes (issue 9) are added here


def create_app(
    settings: Settings, *, state: ServerState | None = None, extensions: Iterable[Extension] | None = None,
) -> tuple[ASGIApp, ServerState]:
    """The app and its state. The journal is opened by ``state.open()`` (the CLI does it first, so a bad
    file is one line and exit 2), else by the app's startup."""
    state = state or ServerState(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state.bell.bind(asyncio.get_running_loop())
        if not state.ready:
            await run_in_threadpool(state.open)
        try:
            yield
        finally:
            await run_in_threadpool(state.stop)

    routes: list[BaseRoute] = lago_routes.routes(state)
    extra = [route for make in (EXTENSIONS if extensions is None else extensions) for route in make(state)]
    if extra:
        routes.append(Mount(LAGO_TUI_PREFIX, routes=extra))
    middleware: list[Middleware] = [Middleware(HeaderLimit)]
    if settings.cors_origin:
        cls, options = cors_middleware(settings.cors_origin)
        middleware.append(Middleware(cls, **options))
    if settings.token:
        middleware.append(Middleware(BearerAuth, token=settings.token))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.lago = state
    return AccessLog(app), state

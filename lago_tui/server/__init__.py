"""``lago-tui serve``: Lago's HTTP API over the journal (Starlette + uvicorn, imported only by ``serve``).

Seams: :mod:`.app` (the app factory and the extension hook), :mod:`.lago_routes` (Lago's routes),
:mod:`.sse` (the four stream formats), :mod:`.errors` (every error as JSON), :mod:`.jsonio` (bodies in,
escaped JSON out), :mod:`.security` (token, loopback, CORS, limits), :mod:`.accesslog`, :mod:`.state`
(what the routes share, the commit bell), :mod:`.runner` (uvicorn, signals). The journal side of serving,
file ownership and group commit, is :mod:`lago_tui.journal.owner`.
"""

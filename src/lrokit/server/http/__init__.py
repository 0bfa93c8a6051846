"""The HTTP edge, built from the contract: ``app`` (the Connexion application, error handlers,
middleware, lifespan), ``fastpath`` (the hot operations validated by validators compiled from
the contract), ``middleware`` (body guard, content negotiation), ``context`` (the request a
handler answers), ``handlers`` (one per operationId), ``problems`` (problem responses and the
pages their types resolve to) and ``preferences`` (RFC 7240 ``Prefer``).

May import: ``work``, ``jobs`` and the shared modules of :mod:`lrokit.server`.
"""

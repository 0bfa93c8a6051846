"""The lrokit reference server: thin Connexion handlers over a typed job core.

Layers, outermost first: ``app`` (the ASGI application built from ``openapi.yaml``),
``middleware`` and ``handlers`` (HTTP only), ``workers`` (background report generation),
``store`` (the durable job store protocol and its SQLite implementation), ``jobs`` (the job
model), ``reports`` and ``dataset`` (the work itself). A layer imports only the ones below it.
Import ``create_app`` from :mod:`lrokit.server.app`; this package imports nothing, so a
worker or a tool can use the lower layers without loading the web stack.
"""

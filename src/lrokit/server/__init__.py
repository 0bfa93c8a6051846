"""The lrokit reference server: thin handlers over a typed, durable job core.

Three rooms, each importing only the rooms below it and the shared modules here:

* ``http/``: the HTTP edge, built from ``openapi.yaml`` (app factory, fast path, middleware,
  handlers, problem responses, ``Prefer``);
* ``work/``: the work itself (report workers under leases, report plans, the sample dataset);
* ``jobs/``: the durable job core (``JobState`` and the job record, the ``JobStore`` protocol,
  its SQLite and PostgreSQL stores, which store the settings select).

Shared by all three: ``settings`` (the one value every part is configured by) and ``problems``
(the registry of RFC 9457 problem types). ``command`` holds ``lrokit serve`` and
``lrokit worker``. Import ``create_app`` from :mod:`lrokit.server.http.app`; this package
imports nothing, so a worker or a tool can use the lower rooms without loading the web stack.
"""

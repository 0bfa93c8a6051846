"""The work: ``workers`` (claim a job under a lease, heartbeat, pace, record the outcome),
``reports`` (report types as plans of steps, real progress between steps) and ``dataset``
(the deterministic sample sales dataset the reports read).

May import: ``jobs``, :mod:`lrokit.server.settings` and :mod:`lrokit.server.problems`; never
``http``.
"""

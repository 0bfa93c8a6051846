"""The durable job core: ``job`` (JobState, legal transitions, the Job record), ``store`` (the
JobStore protocol: every method one transaction), ``rows`` (the table's columns and how a row
becomes a Job, shared by both stores), ``sqlite`` and ``postgres`` (its stores) and
``backends`` (which store the settings select).

May import: :mod:`lrokit.server.settings` and :mod:`lrokit.server.problems`; never ``work``
or ``http``.
"""

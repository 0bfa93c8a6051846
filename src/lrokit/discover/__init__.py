"""``lrokit init``: read an API description and write a check file aimed at its long-running
operations, saying what was inferred from which JSON pointer and what could not be.

``specs`` reads the document (OpenAPI 3.0/3.1 or Swagger 2.0, a path or a URL);
:mod:`lrokit.lint.longrunning` finds the long-running operations (the reading ``lrokit lint``
shares); ``submission`` infers what to send, ``examples`` the bodies, ``monitor`` the
initiation and the status monitor, ``cancel`` the cancel; ``profiles`` assembles one whole
profile per operation (:func:`lrokit.discover.profiles.discover`, which ``lrokit check --spec``
runs too); ``checkfile`` writes the TOML; ``command`` is the command.
"""

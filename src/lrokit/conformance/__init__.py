"""lrokit's conformance suite for pytest: ``pytest <this directory> --target-url URL``.

A package (not a bare directory of tests) so that its modules have names of their own
(``lrokit.conformance.test_rules``, never a top-level ``test_rules`` that could clash with a
project's), its test modules can share a warning class by a relative import, and its directory
can be found from an installed wheel::

    pytest "$(python -c 'import lrokit.conformance as c; print(c.__path__[0])')" --target-url URL
"""

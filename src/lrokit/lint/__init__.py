"""``lrokit lint``: judge an OpenAPI document against the SPEC rules before any server exists.

``document`` reads the document and maps JSON pointers to lines, ``checks`` yields the
findings, ``report`` renders them for people, CI (JUnit) and tools (JSON, SARIF).
"""

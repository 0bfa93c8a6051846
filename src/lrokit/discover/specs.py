"""The API description ``lrokit init`` reads: an OpenAPI 3.0 or 3.1 document, or Swagger 2.0,
in YAML or JSON, from a path or an http(s) URL; and where its operations' paths are rooted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from lrokit.lint.document import Document, SpecError, pointer, read_document


@dataclass(frozen=True)
class Spec:
    """An API description and the root of its paths."""

    doc: Document
    #: ``OpenAPI 3.0.3``, ``Swagger 2.0``.
    dialect: str
    #: The path every operation's path is under (``/ga4gh/wes/v1``), ``""`` for none: the
    #: path of the first server URL (OpenAPI 3) or ``basePath`` (Swagger 2.0).
    base_path: str
    #: The origin (``https://host``) of the base URL the document declares, if it declares
    #: an absolute one: paths are written under ``base_path``, so the check's URL is this.
    server: str | None
    #: Where ``base_path`` and ``server`` were read.
    base_at: str | None

    @property
    def source(self) -> str:
        return self.doc.source

    @property
    def swagger(self) -> bool:
        """A Swagger 2.0 document (bodies are ``in: body`` parameters, no links)."""
        return self.doc.version == "2.0"

    @property
    def title(self) -> str:
        info = self.doc.data.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        return str(title) if title else self.source


def read_spec(source: str, *, timeout: float = 10.0) -> Spec:
    """Read ``source``; raises :class:`lrokit.lint.document.SpecError` with a one-line reason
    when it cannot be read or is neither OpenAPI 3.0/3.1 nor Swagger 2.0."""
    doc = read_document(source, timeout=timeout)
    data = doc.data
    if str(data.get("swagger", "")) == "2.0":
        return _swagger(doc)
    version = str(data.get("openapi", ""))
    if not version.startswith(("3.0", "3.1")):
        raise SpecError(
            f"{source} is neither OpenAPI 3.0/3.1 nor Swagger 2.0 (no openapi: 3.x, no "
            "swagger: '2.0')"
        )
    if not isinstance(data.get("paths"), dict):
        raise SpecError(f"{source} describes no paths")
    servers = data.get("servers")
    first = servers[0] if isinstance(servers, list) and servers else None
    url = _server_url(first) if isinstance(first, dict) else ""
    parts = urlsplit(url)
    absolute = bool(parts.scheme and parts.netloc)
    return Spec(
        doc=doc,
        dialect=f"OpenAPI {version}",
        base_path=parts.path.rstrip("/"),
        server=f"{parts.scheme}://{parts.netloc}" if absolute else None,
        base_at="/servers/0/url" if first is not None else None,
    )


def _server_url(server: dict[str, object]) -> str:
    """A server's URL with its variables given their defaults (OpenAPI 3 §4.7.5)."""
    url = str(server.get("url") or "")
    variables = server.get("variables")

    def default(match: re.Match[str]) -> str:
        variable = variables.get(match.group(1)) if isinstance(variables, dict) else None
        value = variable.get("default") if isinstance(variable, dict) else None
        return str(value) if value is not None else match.group(0)

    return re.sub(r"\{([^{}]+)\}", default, url)


def _swagger(doc: Document) -> Spec:
    data = doc.data
    if not isinstance(data.get("paths"), dict):
        raise SpecError(f"{doc.source} describes no paths")
    base = str(data.get("basePath") or "").rstrip("/")
    host = data.get("host")
    schemes = data.get("schemes")
    scheme = str(schemes[0]) if isinstance(schemes, list) and schemes else "https"
    server = f"{scheme}://{host}" if isinstance(host, str) and host else None
    return Spec(
        doc=doc,
        dialect="Swagger 2.0",
        base_path=base,
        server=server,
        base_at="/basePath" if "basePath" in data else ("/host" if server else None),
    )


def security_headers(spec: Spec) -> list[tuple[str, str, str]]:
    """The headers the document's security schemes send, with a value that reads a variable
    (``Authorization: Bearer ${API_TOKEN}``), and each scheme's pointer: HTTP bearer, OAuth 2
    and OpenID Connect send a bearer token, HTTP basic its credentials, an API key in a header
    that header."""
    data = spec.doc.data
    if spec.swagger:
        schemes, base = data.get("securityDefinitions"), "/securityDefinitions"
    else:
        components = data.get("components")
        schemes = components.get("securitySchemes") if isinstance(components, dict) else None
        base = "/components/securitySchemes"
    found: dict[str, tuple[str, str, str]] = {}
    for name, scheme in (schemes if isinstance(schemes, dict) else {}).items():
        scheme, at = spec.doc.resolve(scheme, pointer(*base.split("/")[1:], name))
        if not isinstance(scheme, dict):
            continue
        kind, how = str(scheme.get("type", "")).lower(), str(scheme.get("scheme", "")).lower()
        if kind in ("oauth2", "openidconnect") or (kind == "http" and how == "bearer"):
            found.setdefault("authorization", ("Authorization", "Bearer ${API_TOKEN}", at))
        elif kind == "basic" or (kind == "http" and how == "basic"):
            found.setdefault("authorization", ("Authorization", "Basic ${API_CREDENTIALS}", at))
        elif kind == "apikey" and scheme.get("in") == "header" and scheme.get("name"):
            header = str(scheme["name"])
            found.setdefault(header.lower(), (header, "${API_KEY}", at))
    return list(found.values())

"""The schema layer: schemathesis generates requests from the contract and sends them to the
target; every response is judged by schemathesis's own checks (status, content type, headers
and body against the contract, server errors, …) and by lrokit's per-response rules
(:mod:`lrokit.checks.adapters`: problem+json, Retry-After grammar, Date).

Two of schemathesis's defaults do not fit the pattern and are adjusted, as in the kit's own
``tests/schemathesis.toml``: DELETE cancels a job, which stays readable (so ``use_after_free``
does not apply to it), and a schema-valid submission may be refused with 422 (a date range
whose start follows its end; an Idempotency-Key reused with another body).

The layer submits jobs on the target with every generated valid POST; keep
``--schema-examples`` small (20 by default, 0 disables it). A member the target may call back
(a callback URL, an OGC subscriber) is pointed under ``.invalid`` before a request goes out
(:mod:`lrokit.model.callbacks`): generated data never makes a target call the internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import use_after_free
from schemathesis.transport.requests import ManagedCookiesSession

from lrokit.checks import adapters
from lrokit.model.callbacks import callback_targets, contract_words, defang

from .test_rules import ShouldWarning

if TYPE_CHECKING:
    from schemathesis import BaseSchema, Case

    from lrokit.runner.options import SuiteOptions


def schemathesis_config(options: SuiteOptions) -> schemathesis.Config:
    """The schema layer's schemathesis configuration, built here rather than discovered, so
    that no ``schemathesis.toml`` of the working directory changes what the suite checks."""
    return schemathesis.Config.from_dict(
        {
            "headers": dict(options.headers),
            "request-timeout": options.timeout,
            "generation": {"max-examples": options.schema_examples, "database": "none"},
            # The adapters run through additional_checks below, once: not also as the global
            # checks that importing lrokit.checks.adapters registers.
            "checks": {check.__name__: {"enabled": False} for check in adapters.CHECKS.values()},
            "operations": [
                {
                    "include-name": f"{op.profile.submit_method} {op.profile.submit_path}",
                    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "422"]}},
                }
                for op in options.checked
            ],
        }
    )


@pytest.fixture(scope="session")
def lrokit_schema(lrokit_options: SuiteOptions) -> BaseSchema:
    """The contract as a schemathesis schema aimed at the target."""
    if lrokit_options.schema_examples == 0:
        pytest.skip("the schema layer is disabled (--schema-examples 0)")
    spec = lrokit_options.spec
    if spec is None:
        pytest.skip(f"profile {lrokit_options.profile.name} names no contract: pass --spec")
    config = schemathesis_config(lrokit_options)
    if spec.startswith(("http://", "https://")):
        schema = schemathesis.openapi.from_url(spec, config=config, timeout=lrokit_options.timeout)
    else:
        schema = schemathesis.openapi.from_path(spec, config=config)
    schema.config.update(base_url=lrokit_options.target_url)
    return schema


@pytest.fixture(scope="session")
def lrokit_contract_words(lrokit_schema: BaseSchema) -> frozenset[str]:
    """The strings the contract enumerates, read once: generated data keeps them where it
    points callback members under .invalid."""
    return contract_words(lrokit_schema.raw_schema)


@pytest.fixture(scope="session")
def lrokit_session() -> Iterator[ManagedCookiesSession]:
    """One HTTP session for every generated request, as a schemathesis run has: its connections
    are kept alive between requests. Otherwise each request is sent as without a session: no
    default headers, no cookie kept from one request to the next (schemathesis clears them
    after each), redirects followed only on the same host."""
    session = ManagedCookiesSession()
    session.headers.clear()
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's ``from_fixture`` reads and renames ``node._nodeid``, an attribute
    pytest 9.2 no longer has (it keeps the id in ``_id``): give the node one to read."""
    node = request.node
    if "_nodeid" not in node.__dict__ and not hasattr(type(node), "_nodeid"):
        node.__dict__["_nodeid"] = node.nodeid


schema = schemathesis.pytest.from_fixture("lrokit_schema")


@pytest.mark.schema
@schema.parametrize()
def test_schema(
    case: Case[Any],
    lrokit_options: SuiteOptions,
    lrokit_session: ManagedCookiesSession,
    lrokit_contract_words: frozenset[str],
) -> None:
    body_members, query_members = callback_targets(case.operation.definition.raw)
    words = lrokit_contract_words
    case.body = defang(case.body, body_members, words)
    if case.query:
        case.query = defang(case.query, {f"/{name}" for name in query_members}, words)
    case.call_and_validate(
        session=lrokit_session,
        params=dict(lrokit_options.query) or None,
        # lrokit's per-response rules: a MUST fails; a SHOULD warns, or fails under --strict.
        additional_checks=adapters.checks_for(strict=lrokit_options.strict, warning=ShouldWarning),
        excluded_checks=[use_after_free] if case.method.upper() == "DELETE" else None,
    )

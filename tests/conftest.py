"""Shared fixtures: one small sample dataset and one wheel of this checkout per session,
servers in-process over ASGI."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lrokit.server.http.app import create_app
from lrokit.server.jobs.postgres import PostgresJobStore
from lrokit.server.jobs.store import JobStore
from lrokit.server.settings import Settings
from lrokit.server.work.dataset import ensure_dataset
from tests.helpers import postgres_schema

#: Enough rows to cover every year, region, category and channel; builds in well under 1 s.
TEST_ROWS = 40_000
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """lrokit's wheel, built from this checkout once per session."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = wheels.glob("lrokit-*.whl")
    return built


@pytest.fixture(scope="session")
def dataset_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dataset") / "sales.sqlite3"
    ensure_dataset(path, TEST_ROWS)
    return path


@pytest.fixture
def settings(tmp_path: Path, dataset_path: Path) -> Settings:
    return Settings(
        db=tmp_path / "jobs.sqlite3",
        dataset=dataset_path,
        dataset_rows=TEST_ROWS,
        workers=2,
        lease_seconds=2.0,
        poll_interval=0.05,
        validate_responses=True,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound in-process to a reference server running its workers."""
    async with serve_in_process(settings) as http:
        yield http


class serve_in_process:
    """``async with serve_in_process(settings) as client``: the app with its lifespan run."""

    def __init__(self, settings: Settings, store: JobStore | None = None) -> None:
        self.app = create_app(settings, store=store)
        self.manager = LifespanManager(self.app, startup_timeout=30, shutdown_timeout=30)

    async def __aenter__(self) -> httpx.AsyncClient:
        await self.manager.__aenter__()
        transport = httpx.ASGITransport(app=self.manager.app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        return self.http

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        await self.manager.__aexit__(*exc)


@pytest.fixture(scope="session")
def contract_file() -> Iterator[Path]:
    return Path(__file__).resolve().parents[1] / "openapi.yaml"


@pytest.fixture(params=["sqlite", "postgresql"])
def job_store(request: pytest.FixtureRequest) -> Iterator[JobStore | None]:
    """None: the default SQLite store; else a PostgreSQL store in a schema of its own (skipped
    without LROKIT_TEST_POSTGRES_URL)."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_schema(f"{request.node.name} on PostgreSQL") as (url, schema):
        yield PostgresJobStore(url, schema=schema)

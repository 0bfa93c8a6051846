"""Options mean the same in every command: one declaration of a run's options for ``check``,
``check --deep``, the suite and the plugin; ``--json``/``--junit`` take ``-``; every option
names its ``LROKIT_*`` variable; a missing extra is one line naming it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest

from lrokit.cli import cli, main
from lrokit.runner.options import (
    SUITE_OPTIONS,
    OptionError,
    parse,
    register_options,
    to_pytest_args,
)
from tests.fauxservers.server import FauxServer
from tests.live import ThreadServer

ROOT = Path(__file__).resolve().parents[1]


def test_every_option_of_every_command_names_its_variable() -> None:
    for name, command in cli.commands.items():
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            long_name = next(o for o in param.opts if o.startswith("--"))
            expected = "LROKIT_" + long_name[2:].upper().replace("-", "_")
            assert param.envvar == expected, f"lrokit {name} {long_name}"
            assert param.show_envvar, f"lrokit {name} {long_name}"


def test_help_shows_the_variables(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("serve", "check", "lint", "submit"):
        assert main([command, "--help"]) == 0
        assert "env var: LROKIT_" in capsys.readouterr().out, command


def test_header_has_one_short_form_everywhere() -> None:
    for name in ("check", "submit"):
        (header,) = [p for p in cli.commands[name].params if p.name == "header"]
        assert set(header.opts) | set(header.secondary_opts) == {"-H", "--header"}, name


def test_a_per_request_timeout_never_shares_its_name_with_a_deadline() -> None:
    submit = {p.name: p for p in cli.commands["submit"].params}
    check = {p.name: p for p in cli.commands["check"].params}
    assert "request" in (submit["timeout"].help or "")
    assert "request" in (check["timeout"].help or "")
    assert "in total" in (submit["deadline"].help or "")


def test_deep_hands_every_option_of_the_run_to_the_suite() -> None:
    """Each option given to check reaches the suite's pytest options with its value."""
    given = {
        "profile": "arm",
        "spec": "/tmp/spec.yaml",
        "header": ("Authorization: Bearer x", "X-A: 1"),
        "other-header": ("Authorization: Bearer y",),
        "query": ("api-version=1",),
        "max-wait": "7",
        "time-scale": "0.5",
        "timeout": "3",
        "max-requests": "60",
        "only": ("RETRY",),
        "skip": ("HTTP-1",),
        "allow-cross-origin": True,
        "callbacks": True,
        "callback-url": "http://host.docker.internal:8765/hooks",
        "webhook-secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "schema-examples": "2",
        "lifecycle-examples": "1",
        "check-file": "/tmp/lrokit.toml",
        "operation": ("export",),
        "submit": "PUT /things/t1",
        "data": '{"a": 1}',
        "form": ("name=x", "file=@f.cwl"),
        "urlencoded": True,
        "no-body": True,
        "failing-data": "@fail.json",
        "setup": ("PUT /parents/p1 --data '{}'",),
        "monitor-template": "/jobs/{body:jobId}",
        "result-template": "{submit}",
    }
    assert set(given) == {option.name for option in SUITE_OPTIONS}  # this test covers all
    parser = argparse.ArgumentParser()
    register_options(parser.add_argument, "", "--target-url", "")
    parsed = vars(parser.parse_args(to_pytest_args(given)))
    for option in SUITE_OPTIONS:
        value = parsed[option.dest]
        assert (tuple(value) if option.multiple else value) == given[option.name], option.name


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("time-scale", "2", "--time-scale: '2' is not within [0, 1]"),
        ("max-wait", "0", "--max-wait: '0' is not within (0, 86400]"),
        ("timeout", "x", "--timeout: 'x' is not a number"),
        ("max-requests", "10", "--max-requests: '10' is not within [50, 100000]"),
        ("header", ("no-colon",), "--header: 'no-colon' is not NAME:VALUE"),
        ("other-header", ("no-colon",), "--other-header: 'no-colon' is not NAME:VALUE"),
        ("only", ("NOPE-1",), "--only: 'NOPE-1' is neither a rule id nor a family"),
        ("skip", ("SPEC",), "--skip: SPEC: rules of a specification, judged by lrokit lint"),
        ("callback-url", "http://h/hooks", "--callback-url: 'http://h/hooks' names no port"),
        ("webhook-secret", "whsec_?", "--webhook-secret: not a Standard Webhooks secret"),
    ],
)
def test_check_and_the_suite_refuse_a_value_in_the_same_words(
    name: str, value: object, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(OptionError) as raised:
        parse({name: value}, target_url=None)
    assert str(raised.value).startswith(message)
    flag = f"--{name}"
    args = [a for v in value for a in (flag, v)] if isinstance(value, tuple) else [flag, value]
    assert main(["check", "http://127.0.0.1:9", *args]) == 2
    assert capsys.readouterr().err == f"lrokit: error: {raised.value}\n"


@pytest.mark.parametrize(
    ("header", "other", "message"),
    [
        (("Authorization: Bearer a",), ("Authorization: Bearer a",),
         "--other-header: the run's own credentials (--header): give another principal's"),
        (("Authorization: Bearer a", "X-Api-Key: k"), ("Authorization: Bearer b",),
         "--other-header: gives no X-Api-Key, which --header sends as the run's credentials"),
    ],
)  # fmt: skip
def test_another_principal_is_not_the_runs_own(
    header: tuple[str, ...], other: tuple[str, ...], message: str
) -> None:
    """Another principal sent the run's own credentials would be served as the run's own
    principal, and the TENANCY rules would blame the server for it."""
    with pytest.raises(OptionError) as raised:
        parse({"header": header, "other-header": other}, target_url=None)
    assert str(raised.value).startswith(message)


def test_another_principal_may_send_a_credential_of_the_runs_not_at_all() -> None:
    given = {"header": ("Authorization: Bearer a", "X-Api-Key: k"),
             "other-header": ("Authorization: Bearer b", "X-Api-Key:")}  # fmt: skip
    options = parse(given, target_url="http://t.test")
    assert options.other_headers == {"Authorization": "Bearer b", "X-Api-Key": ""}
    assert options.target_config().other().fields == {"Authorization": "Bearer b"}


@pytest.mark.e2e
def test_reports_go_to_standard_output_for_dash_and_people_read_stderr(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    with ThreadServer(FauxServer()) as url:
        assert main(["check", url, "--time-scale", "0", "--only", "ACCEPT", "--json", "-"]) == 0
        out, err = capfd.readouterr()
        assert json.loads(out)["outcome"] == "PASS"
        assert "PASS" in err  # the table
        assert main(["check", url, "--time-scale", "0", "-H", "X-A: 1", "--junit", "-"]) == 0
        out, _ = capfd.readouterr()
        assert ET.fromstring(out).tag == "testsuites"
        assert main(["check", url, "--deep", "--junit", "-"]) == 2
        assert "give a file" in capfd.readouterr().err
    assert main(["lint", str(ROOT / "openapi.yaml"), "--sarif", "-"]) == 0
    out, err = capfd.readouterr()
    assert json.loads(out)["version"] == "2.1.0"
    assert "PASS" in err
    assert not (tmp_path / "-").exists()  # never a file named -


#: A child process in which the named modules cannot be imported, as in an install without
#: the extra that brings them.
BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
from lrokit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def without(modules: set[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED.format(blocked=modules), *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("blocked", "args", "extra"),
    [
        ({"connexion", "uvicorn"}, ["serve"], "server"),
        ({"psycopg"}, ["worker"], "server"),
        ({"schemathesis"}, ["check", "http://127.0.0.1:9", "--deep"], "deep"),
    ],
    ids=["serve", "worker", "check-deep"],
)
def test_a_missing_extra_is_one_line_naming_it(
    tmp_path: Path, blocked: set[str], args: list[str], extra: str
) -> None:
    done = without(blocked, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"pip install 'lrokit[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_tester_needs_neither_extra(tmp_path: Path) -> None:
    """With the server and generative stacks unimportable, the tester's commands still run."""
    blocked = {"connexion", "uvicorn", "starlette", "psycopg", "schemathesis", "hypothesis"}
    assert without(blocked, "--help", cwd=tmp_path).returncode == 0
    assert without(blocked, "rules", cwd=tmp_path).returncode == 0
    linted = without(blocked, "lint", str(ROOT / "openapi.yaml"), cwd=tmp_path)
    assert linted.returncode == 0, linted.stderr
    args = ["check", "http://127.0.0.1:9", "--max-wait", "1", "--json", "-"]
    refused = without(blocked, *args, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr  # a tester error: nothing listens there
    assert json.loads(refused.stdout)["outcome"] == "ERROR"


def test_a_base_url_with_a_query_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """Its query would be dropped from every request: the user is told to give it apart."""
    assert main(["check", "http://127.0.0.1:9/api?api-version=1"]) == 2
    assert "has a query: give it with --query NAME=VALUE" in capsys.readouterr().err

"""PROBLEM-9's detector of implementation internals (RFC 9457 §5: problem details "ought not to
expose implementation details such as stack dumps"), on what runtimes really print.

Where the samples come from:

* Produced on this machine, then cut to a few lines (paths as printed): Node.js v20.20.2
  (``node -e 'JSON.parse("{")'``, a script's ``Error.stack``, an ES module, a missing
  module), rustc 1.95.0 (a binary that panics, with ``RUST_BACKTRACE=1``), CPython 3.11.7
  (``traceback.print_exc()``), OpenJDK 17.0.15 (``printStackTrace()``, an uncaught exception,
  a ``Caused by:`` chain). Marked "here" below.
* Reported: the body a real server answered (Express's body-parser on an older Node), which
  PROBLEM-9 used to pass.
* Written from the documented format, the runtime not being installed here: Go (runtime
  panics, net/http's recovered panics, ``log.Lshortfile``), .NET (``Exception.ToString()``),
  Ruby (``Exception#full_message``, 3.3 and 3.4 quoting), PHP (``PHP Fatal error``,
  ``getTraceAsString()``, ``display_errors``), Rust before 1.73, Kotlin, Spring Boot's
  ``trace``, Laravel's debug ``file``, and the file-system paths. Marked "docs" below.
"""

from __future__ import annotations

import json
import time

import pytest

from lrokit.checks import Violation, adapters
from lrokit.checks._internals import TABLE, describe, detect
from lrokit.model.exchange import Exchange

NODE = "a Node.js stack trace"
GO = "a Go stack trace"
DOTNET = "a .NET stack trace"
RUBY = "a Ruby backtrace"
PHP = "a PHP stack trace"
RUST = "a Rust panic"
PYTHON = "a Python traceback"
JAVA = "a Java stack trace"
PATH = "a server file path"

POSITIVE = [
    # -- Node.js / V8 ----------------------------------------------------------------------
    pytest.param(
        "SyntaxError: Expected property name or '}' in JSON at position 1\n"
        "    at JSON.parse (<anonymous>)\n"
        "    at [eval]:1:6\n"
        "    at runScriptInThisContext (node:internal/vm:209:10)\n",
        {NODE},
        id="node-eval-here",
    ),
    pytest.param(
        "TypeError: Cannot read properties of undefined (reading 'id')\n"
        "    at find (/tmp/samples/app/server.js:1:39)\n"
        "    at Object.<anonymous> (/tmp/samples/app/server.js:2:7)\n"
        "    at Module._compile (node:internal/modules/cjs/loader:1521:14)\n",
        {NODE, PATH},
        id="node-script-here",
    ),
    pytest.param(
        'SyntaxError: Unexpected token \'}\', "{"a": }" is not valid JSON\n'
        "    at JSON.parse (<anonymous>)\n"
        "    at file:///tmp/samples/app/index.mjs:2:12\n"
        "    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)\n",
        {NODE},
        id="node-esm-here",
    ),
    pytest.param(
        "Error: boom\n"
        "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
        {NODE},
        id="node-builtin-frame-here",
    ),
    pytest.param(
        "Error: Cannot find module 'pg'\nRequire stack:\n- /tmp/samples/app/db.js\n"
        "    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)",
        {NODE, PATH},
        id="node-require-here",
    ),
    pytest.param(
        "SyntaxError: Unexpected token } in JSON at position 12\n"
        "    at JSON.parse (<anonymous>)\n"
        "    at parse (/app/node_modules/body-parser/lib/types/json.js:89:19)",
        {NODE, PATH},
        id="node-body-parser-reported",
    ),
    # -- Go --------------------------------------------------------------------------------
    pytest.param(
        "panic: runtime error: index out of range [3] with length 1\n\n"
        "goroutine 1 [running]:\n"
        "main.find(...)\n"
        "\t/home/deploy/reports/main.go:9\n"
        "main.main()\n"
        "\t/home/deploy/reports/main.go:14 +0x1d\n",
        {GO, PATH},
        id="go-panic-docs",
    ),
    pytest.param(
        "2024/05/02 10:42:00 http: panic serving 10.0.0.7:51234: no report r1\n"
        "goroutine 34 [running]:\n"
        "net/http.(*conn).serve.func1()\n"
        "\t/usr/local/go/src/net/http/server.go:1903 +0xbe\n",
        {GO, PATH},
        id="go-net-http-docs",
    ),
    pytest.param("store.go:88: sql: no rows in result set", {GO}, id="go-log-shortfile-docs"),
    # -- .NET ------------------------------------------------------------------------------
    pytest.param(
        "System.NullReferenceException: Object reference not set to an instance of an object.\n"
        "   at Contoso.Reports.ReportService.Find(String id) in "
        "C:\\src\\Contoso.Reports\\ReportService.cs:line 42\n"
        "   at Contoso.Reports.ReportsController.Get(String id) in "
        "C:\\src\\Contoso.Reports\\ReportsController.cs:line 17\n",
        {DOTNET, PATH},
        id="dotnet-windows-docs",
    ),
    pytest.param(
        "   at Contoso.Reports.ReportService.First() in "
        "/src/Contoso.Reports/ReportService.cs:line 42\n"
        "--- End of stack trace from previous location ---\n",
        {DOTNET},
        id="dotnet-linux-frame-docs",
    ),
    pytest.param(
        "Microsoft.EntityFrameworkCore.DbUpdateException: An error occurred while saving the "
        "entity changes. See the inner exception for details.",
        {DOTNET},
        id="dotnet-exception-type-docs",
    ),
    # -- Ruby ------------------------------------------------------------------------------
    pytest.param(
        "app/models/report.rb:12:in `find': undefined method `id' for nil:NilClass "
        "(NoMethodError)\n\tfrom app/controllers/reports_controller.rb:7:in `show'\n",
        {RUBY},
        id="ruby-3.3-docs",
    ),
    pytest.param(
        "app/models/report.rb:12:in 'Report#find': undefined method 'id' for nil (NoMethodError)",
        {RUBY},
        id="ruby-3.4-docs",
    ),
    pytest.param(
        "/usr/local/bundle/gems/actionpack-7.1.3/lib/action_controller/metal/"
        "basic_implicit_render.rb:6:in `send_action'",
        {RUBY, PATH},
        id="ruby-gem-frame-docs",
    ),
    # -- PHP -------------------------------------------------------------------------------
    pytest.param(
        "PHP Fatal error:  Uncaught TypeError: Report::find(): Argument #1 ($id) must be of "
        "type int, string given, called in /var/www/html/reports.php on line 12\n"
        "Stack trace:\n#0 /var/www/html/reports.php(12): Report::find('r1')\n#1 {main}\n"
        "  thrown in /var/www/html/Report.php on line 5",
        {PHP, PATH},
        id="php-fatal-docs",
    ),
    pytest.param(
        "Stack trace:\n#0 [internal function]: Report->find('r1')\n#1 {main}",
        {PHP},
        id="php-trace-as-string-docs",
    ),
    pytest.param(
        "<br />\n<b>Fatal error</b>:  Uncaught Exception: no report in "
        "/home/site/wwwroot/index.php:3",
        {PHP, PATH},
        id="php-display-errors-docs",
    ),
    # -- Rust ------------------------------------------------------------------------------
    pytest.param(
        "thread 'main' (21481) panicked at src/main.rs:5:7:\n"
        'called `Result::unwrap()` on an `Err` value: "no report r1"',
        {RUST},
        id="rust-panic-here",
    ),
    pytest.param(
        "stack backtrace:\n"
        "   3: rpanic::find\n"
        "             at ./src/main.rs:1:39\n"
        "   4: rpanic::main\n"
        "             at ./src/main.rs:4:54\n",
        {RUST},
        id="rust-backtrace-here",
    ),
    pytest.param(
        "thread 'tokio-runtime-worker' panicked at 'index out of bounds: the len is 1 but the "
        "index is 3', src/handlers.rs:42:10",
        {RUST},
        id="rust-before-1.73-docs",
    ),
    # -- Python ----------------------------------------------------------------------------
    pytest.param(
        "Traceback (most recent call last):\n"
        '  File "/tmp/samples/srv/app/reports.py", line 6, in handler\n'
        '    return find({}, data["id"])\n'
        "           ^^^^^^^^^^^^^^^^^^^^\n"
        "KeyError: 'r1'\n",
        {PYTHON, PATH},
        id="python-traceback-here",
    ),
    pytest.param(
        'File "/usr/local/lib/python3.12/site-packages/starlette/routing.py", line 74, in app',
        {PYTHON, PATH},
        id="python-frame-docs",
    ),
    pytest.param(
        'Traceback (most recent call last):\n  File "app.py", line 7',
        {PYTHON},
        id="python-fauxserver",
    ),
    # -- Java / JVM ------------------------------------------------------------------------
    pytest.param(
        'java.lang.NullPointerException: Cannot invoke "com.example.reports.Main$Report.id()" '
        'because "<parameter1>" is null\n'
        "\tat com.example.reports.Main.find(Main.java:4)\n"
        "\tat com.example.reports.Main.main(Main.java:6)\n",
        {JAVA},
        id="java-npe-here",
    ),
    pytest.param(
        "java.lang.RuntimeException: wrapped\n"
        "\tat com.example.reports.Main.main(Main.java:7)\n"
        'Caused by: java.lang.NumberFormatException: For input string: "x"\n'
        "\tat java.base/java.lang.Integer.parseInt(Integer.java:668)\n"
        "\t... 1 more\n",
        {JAVA},
        id="java-caused-by-here",
    ),
    pytest.param(
        'Exception in thread "main" java.lang.NullPointerException', {JAVA}, id="java-uncaught-here"
    ),
    pytest.param(
        "java.lang.IllegalStateException: No report r1\n"
        "\tat com.example.reports.ReportService.find(ReportService.kt:42) ~[classes/:na]",
        {JAVA},
        id="kotlin-spring-trace-docs",
    ),
    # -- server file paths -----------------------------------------------------------------
    pytest.param("/var/www/app/Http/Controllers/ReportController.php", {PATH}, id="laravel-docs"),
    pytest.param("could not import /home/deploy/reports/app.py", {PATH}, id="home-docs"),
    pytest.param("Cannot load /Users/ana/src/reports/server.ts", {PATH}, id="macos-docs"),
    pytest.param(
        "File(/tmp/upload) is not within the allowed path(s): (/var/www/html/)",
        {PATH},
        id="var-www-docs",
    ),
    pytest.param(
        "Could not find a part of the path 'C:\\inetpub\\wwwroot\\reports\\data\\2023.csv'.",
        {PATH},
        id="inetpub-docs",
    ),
    pytest.param(  # the message as produced here, without its frames; a container's path
        "Error: Cannot find module 'pg'\nRequire stack:\n"
        "- /srv/reports/node_modules/knex/lib/dialects/postgres/index.js",
        {PATH},
        id="node-modules-here",
    ),
]

NEGATIVE = [
    "Year 1999 is outside the data (2019-2025).",
    "/reports/123",
    "https://example.com/problems/at-limit",
    "at most 10 items",
    "2025-01-31T10:42:00Z",
    "The upload failed at line 12: expected a date at column 3.",
    "/parameters/year",
    "/api/v1/files/report.csv",
    "Look at the report (report.json) at 10:42; retry at will.",
    "Retry at 10:42:00 (UTC), at the earliest.",
    "Unexpected token } in JSON at position 12",
    "Expecting value: line 1 column 8 (char 7)",
    "https://example.com/home/docs/errors.php",
    "/home/reports/123",
    "/app/reports/r1.json",
    "C:\\fakepath\\report.csv",
    "Caused by: the upstream data source timing out.",
    "Report thread 'Q3 sales' is locked by another job.",
    "Stack trace: not available",
    "Don't panic: the job is queued (position 3).",
    "Contact ops@example.com about job r1.",
    "Job r1 failed: the report generator ran out of time (limit 30 s).",
]


def names(text: str) -> set[str]:
    return {entry.name for entry, _ in detect(text)}


def test_the_table_names_each_kind_once() -> None:
    assert len({entry.name for entry in TABLE}) == len(TABLE)
    assert {NODE, GO, DOTNET, RUBY, PHP, RUST, PYTHON, JAVA, PATH} == {e.name for e in TABLE}


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_runtime_samples_are_named(text: str, expected: set[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_samples_are_seen_inside_a_json_body(text: str, expected: set[str]) -> None:
    """A body as sent: the sample escaped in a JSON string, next to ordinary members."""
    body = json.dumps({"title": "Internal Server Error", "status": 500, "detail": text})
    assert names(f"{text}\n{body}") == expected  # as PROBLEM-9 searches it: strings, then body


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_problem_details_are_not_internals(text: str) -> None:
    assert detect(text) == []


def test_an_excerpt_reaches_back_to_the_start_of_its_word() -> None:
    found = {entry.name: excerpt for entry, excerpt in detect("main()\n\t/go/src/app/main.go:9")}
    assert found == {GO: "/go/src/app/main.go:9", PATH: "/go/src/app/main.go"}


def judge(body: bytes, media: str = "application/problem+json") -> list[Violation] | None:
    return adapters.judge(
        "PROBLEM-9",
        Exchange("get", "GET", "http://h/reports/r1", (), 500, (("content-type", media),), body),
    )


def test_problem_9_names_what_the_reported_body_exposed() -> None:
    stack = (
        "SyntaxError: Unexpected token } in JSON at position 12\n"
        "    at JSON.parse (<anonymous>)\n"
        "    at parse (/app/node_modules/body-parser/lib/types/json.js:89:19)"
    )
    body = json.dumps({"type": "about:blank", "status": 500, "stack": stack}).encode()
    assert judge(body) == [
        Violation(
            "a Node.js stack trace ('at JSON.parse (<anonymous>)') and a server file path "
            "('/app/node_modules/body-parser/lib/types/json.js') in the body",
            "no implementation internals",
            "GET http://h/reports/r1 -> 500",
        )
    ]


def test_problem_9_shows_what_it_found_as_the_server_wrote_it() -> None:
    """The excerpt comes from the decoded string, not from the body's escapes (``\\n\\tat``)."""
    trace = "com.example.ReportMissing: r1\n\tat com.example.Reports.find(Reports.java:42)"
    assert [v.received for v in judge(json.dumps({"trace": trace}).encode()) or []] == [
        "a Java stack trace ('at com.example.Reports.find(Reports.java:42)') in the body"
    ]


def test_problem_9_passes_ordinary_problems() -> None:
    body = {"type": "https://example.com/problems/at-limit", "detail": NEGATIVE[0]}
    assert judge(json.dumps(body | {"instance": "/reports/123", "status": 500}).encode()) == []


def test_a_long_excerpt_is_cut() -> None:
    path = "/srv/" + "a" * 100 + "/x.py"
    assert describe([path]) == f"a server file path ({path[:79] + '…'!r})"
    assert describe([]) == ""


# -- cost: bodies are at most 1 MiB; every pattern must stay linear on them ------------------

MIB = 1 << 20

ADVERSARIAL = [
    "at ",
    "at at at ",
    "at a [as b] (",
    "at " + "x" * 299 + " (" + "y" * 499,
    "at (node:" + "x" * 199,
    "at " + "a." * 250 + "(" + "b" * 199 + ".java:",
    "goroutine 1 [" + "x" * 99,
    "a.go:1",
    "System." + "Abc." * 4,
    "Microsoft.Exception.",
    "x.rb:1:in `" + "y" * 199,
    "PHP Stack trace: #0 ",
    'Exception in thread "' + "x" * 99,
    "thread '" + "x" * 99,
    'File "' + "x" * 499,
    "Caused by: " + "a." * 10,
    "java." + "a." * 6 + "A" * 100,
    " /home/" + "a/" * 64 + "b" * 255,
    "C:\\" + "a\\" * 64 + "b" * 255,
    "/var/www",
    "a" * 1000,
    "\n",
]


@pytest.mark.parametrize("unit", ADVERSARIAL, ids=[u[:20] for u in ADVERSARIAL])
def test_a_mebibyte_of_adversarial_text_is_searched_quickly(unit: str) -> None:
    text = (unit * (MIB // len(unit) + 1))[:MIB]
    started = time.process_time()
    detect(text)
    assert time.process_time() - started < 0.5


def test_a_mebibyte_body_of_many_strings_is_judged_quickly() -> None:
    body = json.dumps(["a"] * (MIB // 5 - 1)).encode()
    assert len(body) <= MIB
    started = time.process_time()
    assert judge(body, "application/json") == []
    assert time.process_time() - started < 0.5

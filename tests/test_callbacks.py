"""Generated requests never name a real host where a server may call back (model/callbacks.py):
unit cases here; the schema layer against a server that records what it was sent is in
test_generative_layers.py."""

from __future__ import annotations

from lrokit.model.callbacks import (
    SAFE_HOST,
    callback_targets,
    contract_words,
    defang,
    safe_url,
)


def test_members_named_like_callbacks_point_under_invalid() -> None:
    body = {
        "inputs": {"x": 1, "url": "https://data.example.org/a.csv"},
        "subscriber": {"successUri": "https://qq.net/ok", "failedUri": "http://a.b/f"},
        "callbackUrl": "https://hooks.real-looking.com/x",
        "notifyTo": ["http://one.io", 5],
        "webhook": None,
        "callbackEvents": "all",
    }
    words = contract_words({"components": {"schemas": {"E": {"enum": ["all", "terminal", 3]}}}})
    assert words == {"all", "terminal"}
    safe = defang(body, keep=words)
    assert safe["inputs"] == body["inputs"]  # data URLs are the operation's, not callbacks
    assert safe["subscriber"] == {
        "successUri": safe_url("successUri"),
        "failedUri": safe_url("failedUri"),
    }
    assert safe["callbackUrl"] == f"http://{SAFE_HOST}/callbackUrl"
    assert safe["notifyTo"] == [safe_url("notifyTo"), 5]
    assert safe["webhook"] is None
    assert safe["callbackEvents"] == "all"  # the contract's own word, not a made-up host
    assert defang({"callbackEvents": "intranet"}, keep=words) == {
        "callbackEvents": safe_url("callbackEvents")
    }
    assert body["callbackUrl"] == "https://hooks.real-looking.com/x"  # the input is not changed


def test_the_operations_callbacks_name_members_by_runtime_expression() -> None:
    operation = {
        "callbacks": {
            "done": {"{$request.body#/reply/to}": {"post": {}}},
            "progress": {"{$request.query.ping}/x": {"post": {}}},
        }
    }
    body_members, query_members = callback_targets(operation)
    assert body_members == {"/reply/to"}
    assert query_members == {"ping"}
    safe = defang({"reply": {"to": "https://x.y", "cc": "z"}}, body_members)
    assert safe == {"reply": {"to": safe_url("to"), "cc": "z"}}
    assert defang({"ping": "https://x.y", "q": "a"}, {f"/{m}" for m in query_members}) == {
        "ping": safe_url("ping"),
        "q": "a",
    }


def test_values_that_are_not_json_pass_untouched() -> None:
    assert defang(b"raw bytes") == b"raw bytes"
    assert defang("text") == "text"
    assert defang(None) is None

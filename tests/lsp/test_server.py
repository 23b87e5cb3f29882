"""End-to-end tests of `ttune lsp` through a real LSP client (pytest-lsp) on a tiny model made
here: result shapes, code lenses on the CPG's function spans, progress, cancellation, malformed
params, concurrency, unsaved text, a failing model load and the absence of network access."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from ttune.cpg.html import page_data
from ttune.data.syntax import parses, parses_as_statement
from ttune.lsp.text import LineIndex

from .conftest import JAVA, NET_LOG, PY, open_doc, options, plain, start

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(models):
    c = await start(options(models), configuration={})
    yield c
    await c.shutdown_session()


async def request(client, method: str, params: dict):
    return plain(await client.protocol.send_request_async(method, params))


def at(uri: str, line: int, character: int = 4) -> dict:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def span_range(text: str, node: dict) -> dict:
    return LineIndex(text).range(node["start_byte"], node["end_byte"])


async def test_result_shapes(client):
    uri = open_doc(client, "shapes.py", PY, "python")
    s = await request(client, "ttune/summarize", at(uri, 5))
    assert (
        set(s) == {"name", "range", "summary"}
        and s["name"] == "area"
        and isinstance(s["summary"], str)
    )
    assert s["range"] == {"start": {"line": 3, "character": 0}, "end": {"line": 5, "character": 16}}
    # Nested function: the innermost one around the position.
    assert (await request(client, "ttune/summarize", at(uri, 11, 12)))[
        "name"
    ] == "Shape.scale.twice"
    assert await request(client, "ttune/summarize", at(uri, 0, 0)) is None  # not in a function

    t = await request(client, "ttune/translate", {**at(uri, 5), "targetLanguage": "java"})
    assert set(t) == {
        "name",
        "range",
        "targetLanguage",
        "code",
        "unchanged",
        "mechanical",
        "parses",
    }
    assert t["targetLanguage"] == "java" and isinstance(t["unchanged"], bool)
    assert t["parses"] == parses(t["code"], "java")
    assert isinstance(t["code"], str)

    juri = open_doc(client, "StackTest.java", JAVA, "java")
    a = await request(client, "ttune/generateAssert", at(juri, 4, 8))
    assert set(a) == {"name", "focal", "assertion", "statement", "insertAt", "replace"}
    assert a["statement"] is parses_as_statement(a["assertion"], "java")
    assert a["name"] == "StackTest.testPush" and isinstance(a["assertion"], str)
    assert a["replace"] == {
        "start": {"line": 5, "character": 8},
        "end": {"line": 5, "character": 30},
    }
    assert a["insertAt"] == a["replace"]["start"]

    graph = await request(client, "ttune/cpg", {"textDocument": {"uri": uri}})
    assert graph["version"] and graph["language"] == "python" and graph["syntax_errors"] == 0
    methods = [n["name"] for n in graph["nodes"] if n["kind"] == "METHOD"]
    assert methods == ["area", "scale", "twice", "test_area"]
    one = await request(client, "ttune/cpg", at(uri, 5))
    assert [n["name"] for n in one["nodes"] if n["kind"] == "METHOD"] == ["area"]
    assert one["nodes"][0]["start_byte"] == PY.encode().index(b"def area")
    # The HTML page draws exactly the JSON export's graph.
    page = await request(client, "ttune/cpg", {**at(uri, 5), "format": "html"})
    assert page_data(page["html"]) == one


async def test_generate_assert_with_a_focal_file(client):
    juri = open_doc(client, "StackTest2.java", JAVA, "java")
    focal = open_doc(
        client, "Stack.java", "public class Stack {\n    void push(int x) { }\n}\n", "java"
    )
    a = await request(client, "ttune/generateAssert", {**at(juri, 4, 8), "focal": focal})
    assert a["focal"] == "Stack.push"  # the last method the test calls that the focal file defines
    without = await request(client, "ttune/generateAssert", at(juri, 4, 8))
    assert without["focal"] is None  # the test file itself defines no push
    with pytest.raises(JsonRpcException) as err:
        await request(
            client,
            "ttune/generateAssert",
            {**at(juri, 4, 8), "focal": open_doc(client, "f.py", PY, "python")},
        )
    assert err.value.code == -32803 and "the focal file is python but the test is java" in str(
        err.value
    )


async def test_code_lens_ranges_are_the_cpg_function_spans(client):
    uri = open_doc(client, "lens.py", PY, "python")
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri))
    )
    graph = await request(client, "ttune/cpg", {"textDocument": {"uri": uri}})
    spans = [span_range(PY, n) for n in graph["nodes"] if n["kind"] == "METHOD"]
    by_range: dict = {}
    for lens in lenses:
        r = {
            "start": {"line": lens.range.start.line, "character": lens.range.start.character},
            "end": {"line": lens.range.end.line, "character": lens.range.end.character},
        }
        key = (r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"])
        by_range.setdefault(key, (r, []))[1].append(lens.command.title)
    assert [r for r, _ in by_range.values()] == spans
    titles = [t for _, t in by_range.values()]
    assert titles[:3] == [["Summarize", "Translate"]] * 3
    assert titles[3] == ["Summarize", "Translate", "Generate assert"]  # test_area
    cmd = lenses[0].command
    assert cmd.command == "ttune.lsp.summarize"
    # The lens's command runs through workspace/executeCommand and answers like ttune/summarize.
    result = plain(
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=cmd.command, arguments=cmd.arguments)
        )
    )
    assert result["name"] == "area" and isinstance(result["summary"], str)


async def test_progress_begin_report_end(client):
    uri = open_doc(client, "progress.py", PY, "python")
    before = set(client.progress_reports)
    result = await request(client, "ttune/summarizeDocument", {"textDocument": {"uri": uri}})
    assert [r["name"] for r in result] == ["area", "Shape.scale", "Shape.scale.twice", "test_area"]
    [token] = (
        set(client.progress_reports) - before
    )  # created by the server (window/workDoneProgress/create)
    values = client.progress_reports[token]
    kinds = [type(v).__name__ for v in values]
    assert kinds == ["WorkDoneProgressBegin"] + ["WorkDoneProgressReport"] * 4 + [
        "WorkDoneProgressEnd"
    ]
    assert values[0].cancellable is True
    assert [r.message for r in values[1:-1]] == [r["name"] for r in result]
    assert [r.percentage for r in values[1:-1]] == [0, 25, 50, 75]


def set_max_new_tokens(client, n: int) -> None:
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"ttune": {"maxNewTokens": n}})
    )


@pytest.fixture
def long_generation(client):
    """maxNewTokens 20000 (the tiny model never emits EOS) for one test, then back to 6."""
    set_max_new_tokens(client, 20000)
    yield
    set_max_new_tokens(client, 6)


async def stopped_message(client, since: int) -> str:
    """The server's log line saying how far a cancelled generation got."""
    for _ in range(100):
        lines = [m.message for m in client.log_messages[since:] if "cancelled" in m.message]
        if lines:
            return lines[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the server logged no cancelled generation")


async def test_cancel_returns_32800_and_generation_stops(client):
    uri = open_doc(client, "cancel.py", PY, "python")
    await request(client, "ttune/summarize", at(uri, 5))  # model loaded
    set_max_new_tokens(client, 20000)
    since = len(client.log_messages)
    fut = client.protocol.send_request("ttune/summarize", at(uri, 5), msg_id="to-cancel")
    await asyncio.sleep(1.0)
    asked = time.monotonic()
    client.protocol.notify("$/cancelRequest", types.CancelParams(id="to-cancel"))
    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(asyncio.wrap_future(fut), 10)
    assert err.value.code == -32800
    assert time.monotonic() - asked < 2.0
    # Generation itself stopped (from its stopping criterion), long before its 20000 tokens.
    line = await stopped_message(client, since)
    assert line.startswith("ttune/summarize cancelled: generation stopped after")
    steps = int(line.split("after ")[1].split(" of")[0])
    assert 0 < steps < 20000
    # ... within 200 ms of the cancel reaching the server (measured there).
    assert int(line.split("(")[1].split(" ms")[0]) < 200
    # The pool is free again: a short request is answered at once.
    set_max_new_tokens(client, 6)
    began = time.monotonic()
    assert (await request(client, "ttune/summarize", at(uri, 5)))["name"] == "area"
    assert time.monotonic() - began < 5.0


async def test_cancelled_progress_stops_summarize_document(client, long_generation):
    uri = open_doc(client, "cancel-progress.py", PY, "python")  # the model is loaded already
    before, since = set(client.progress_reports), len(client.log_messages)
    fut = client.protocol.send_request("ttune/summarizeDocument", {"textDocument": {"uri": uri}})
    for _ in range(200):
        new = set(client.progress_reports) - before
        if new and len(client.progress_reports[next(iter(new))]) >= 2:
            break
        await asyncio.sleep(0.05)
    [token] = new
    await asyncio.sleep(0.5)
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(asyncio.wrap_future(fut), 10)
    assert err.value.code == -32800
    line = await stopped_message(client, since)
    assert line.startswith("ttune/summarizeDocument cancelled: generation stopped after")
    assert type(client.progress_reports[token][-1]).__name__ == "WorkDoneProgressEnd"
    assert client.progress_reports[token][-1].message == "cancelled"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"textDocument": "file:///x.py", "position": {"line": 0, "character": 0}}, "textDocument"),
        ({"textDocument": {"uri": 7}, "position": {"line": 0, "character": 0}}, "uri"),
        (
            {"textDocument": {"uri": "file:///x.py"}, "position": {"line": "1", "character": 0}},
            "line",
        ),
        ({"textDocument": {"uri": "file:///x.py"}}, "position"),
    ],
)
async def test_malformed_params_then_a_valid_request(client, params, message):
    with pytest.raises(JsonRpcException) as err:
        await request(client, "ttune/summarize", params)
    assert err.value.code == -32602 and message in str(err.value)
    uri = open_doc(client, "valid.py", PY, "python")
    assert (await request(client, "ttune/summarize", at(uri, 5)))["name"] == "area"


async def test_two_concurrent_requests(client):
    uri = open_doc(client, "both.py", PY, "python")
    a, b = await asyncio.gather(
        request(client, "ttune/summarize", at(uri, 5)),
        request(client, "ttune/summarize", at(uri, 9, 8)),
    )
    assert a["name"] == "area" and b["name"] == "Shape.scale"


async def test_unsaved_text_is_used(client):
    # The document never exists on disk; an incremental edit renames the function.
    uri = open_doc(client, "unsaved.py", PY, "python")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(3, 4), types.Position(3, 8)), text="surface"
                )
            ],
        )
    )
    s = await request(client, "ttune/summarize", at(uri, 5))
    assert s["name"] == "surface"
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(4, 6))
    )
    assert hover is not None and hover.contents.value == f"**ttune:** {s['summary']}"


async def test_failing_model_load_leaves_cpg_working(models):
    # A hub id: loading needs the network, which the server never uses.
    c = await start({**options(models), "model": "Salesforce/codet5p-220m"})
    try:
        uri = open_doc(c, "fail.py", PY, "python")
        with pytest.raises(JsonRpcException) as err:
            await request(c, "ttune/summarize", at(uri, 5))
        assert err.value.code == -32803 and "cannot load the summarize model" in str(err.value)
        errors = [m for m in c.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1 and "\n" not in errors[0].message
        assert c.statuses[-1]["state"] == "error" and "cannot load" in c.statuses[-1]["message"]
        graph = await request(c, "ttune/cpg", {"textDocument": {"uri": uri}})
        assert [n["name"] for n in graph["nodes"] if n["kind"] == "METHOD"][0] == "area"
    finally:
        await c.shutdown_session()


async def test_no_network_access_attempted(client):
    # Runs after the model-loading tests above (same module, file order).
    assert [s["state"] for s in client.statuses][:2] == ["loading", "ready"]
    assert not NET_LOG.exists() or NET_LOG.read_text() == ""


async def test_workspace_configuration_is_applied(models):
    # initializationOptions allow the file; the client's `ttune` section (pulled after initialized)
    # does not.
    c = await start(
        {**options(models), "maxFileBytes": 100_000}, configuration={"maxFileBytes": 10}
    )
    try:
        uri = open_doc(c, "big.py", PY, "python")
        for _ in range(100):
            try:
                await request(c, "ttune/cpg", {"textDocument": {"uri": uri}})
            except JsonRpcException as e:
                err = e
                break
            await asyncio.sleep(0.05)
        assert err.code == -32803
        assert str(err).endswith(
            f"is {len(PY.encode())} bytes; the limit (ttune.maxFileBytes) is 10"
        )
    finally:
        await c.shutdown_session()

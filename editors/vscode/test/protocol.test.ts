// The pure modules: parameter builders, settings, server command and result helpers.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  Requests, assertEdit, assertParams, at, cpgParams, initializationOptions, pageData, serverCommand,
  statusText, summaryLine, translateParams,
} from "../src/protocol";

const uri = "file:///w/a.py";
const pos = { line: 3, character: 4 };

test("parameter builders give the documented shapes", () => {
  assert.deepEqual(at(uri, pos), { textDocument: { uri }, position: { line: 3, character: 4 } });
  assert.deepEqual(translateParams(uri, pos, "java"), { textDocument: { uri }, position: pos, targetLanguage: "java" });
  assert.deepEqual(assertParams(uri, pos), { textDocument: { uri }, position: pos });
  assert.deepEqual(assertParams(uri, pos, "file:///w/Stack.java"),
    { textDocument: { uri }, position: pos, focal: "file:///w/Stack.java" });
  assert.deepEqual(cpgParams(uri), { textDocument: { uri }, format: "json" });
  assert.deepEqual(cpgParams(uri, pos, "html"), { textDocument: { uri }, position: pos, format: "html" });
  assert.equal(Requests.summarizeDocument, "ttune/summarizeDocument");
});

test("settings: only the server's keys, empty ones left out", () => {
  assert.deepEqual(initializationOptions({ pythonPath: "/v/bin/python", model: "", numBeams: 2,
    transducer: { summarize: "/m" }, maxNewTokens: undefined }), { numBeams: 2, transducer: { summarize: "/m" } });
});

test("server command: configured interpreter, then TTUNE_PYTHON, then python3", () => {
  assert.deepEqual(serverCommand({ pythonPath: "/v/bin/python" }, {}), { command: "/v/bin/python", args: ["-m", "ttune", "lsp"] });
  assert.equal(serverCommand({}, { TTUNE_PYTHON: "/e/python" }).command, "/e/python");
  assert.equal(serverCommand({}, {}).command, process.platform === "win32" ? "python" : "python3");
});

test("assert edits: replace the placeholder, else a new line before the brace or after Python's last line", () => {
  const base = { name: "T.testPush", focal: null, assertion: "assertEquals(1, s.size());" };
  const placeholder = { start: { line: 5, character: 8 }, end: { line: 5, character: 30 } };
  assert.deepEqual(assertEdit({ ...base, insertAt: placeholder.start, replace: placeholder }, "        x", "java"),
    { range: placeholder, text: "assertEquals(1, s.size());" });
  const brace = { line: 6, character: 4 };
  assert.deepEqual(assertEdit({ ...base, insertAt: brace, replace: null }, "    }", "java"),
    { range: { start: brace, end: brace }, text: "    assertEquals(1, s.size());\n    " });
  const end = { line: 2, character: 17 };
  assert.deepEqual(assertEdit({ ...base, assertion: "assert r == 6", insertAt: end, replace: null }, "    r = area(2, 3)", "python"),
    { range: { start: end, end }, text: "\n    assert r == 6" });
});

test("result helpers", () => {
  const range = { start: pos, end: pos };
  assert.equal(summaryLine({ name: "f", range, summary: "Adds." }), "f: Adds.");
  assert.equal(summaryLine(null), "ttune: no function at the cursor");
  assert.equal(statusText({ state: "error", message: "x" }), "$(error) ttune: error");
  assert.equal(statusText({ state: "ready", message: "" }), "$(check) ttune");
  assert.deepEqual(pageData('<p><script type="application/json" id="cpg-data">{"nodes":[]}</script>'), { nodes: [] });
  assert.throws(() => pageData("<html></html>"), /not a ttune CPG page/);
});

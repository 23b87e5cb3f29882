// The real Python server over stdio through vscode-jsonrpc: initialize, didOpen, ttune/summarize
// on the built-in models, the CPG as JSON and as the HTML page (whose data must be the JSON
// export), shutdown. The interpreter: $TTUNE_PYTHON, else the repository's .venv.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import { Requests, at, cpgParams, pageData } from "../src/protocol";

const root = path.resolve(__dirname, "..", "..", "..", "..");
const venv = path.join(root, ".venv", process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
const python = process.env.TTUNE_PYTHON || venv;

const SOURCE = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n";

test("the real server answers initialize, ttune/summarize and ttune/cpg, and shuts down", { timeout: 180_000 }, async () => {
  assert.ok(fs.existsSync(python), `no Python at ${python}; set TTUNE_PYTHON`);
  const server = spawn(python, ["-m", "ttune", "lsp"], {
    cwd: root, env: { ...process.env, OMP_NUM_THREADS: "1" }, stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  server.stderr.on("data", (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => server.on("exit", resolve));
  const conn = createMessageConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  const statuses: { state: string }[] = [];
  conn.onNotification("ttune/status", (s: { state: string }) => statuses.push(s));
  conn.onNotification("window/logMessage", () => undefined);
  conn.onRequest("workspace/configuration", () => [{}]);
  conn.onRequest("window/workDoneProgress/create", () => null);
  conn.listen();
  try {
    const init = await conn.sendRequest<{ capabilities: Record<string, unknown>; serverInfo: { name: string } }>(
      "initialize", { processId: process.pid, rootUri: null, capabilities: { window: { workDoneProgress: true } },
        initializationOptions: { numBeams: 1 } });
    assert.equal(init.serverInfo.name, "ttune");
    assert.deepEqual((init.capabilities.executeCommandProvider as { commands: string[] }).commands.sort(),
      ["ttune.lsp.generateAssert", "ttune.lsp.summarize", "ttune.lsp.translate"]);
    await conn.sendNotification("initialized", {});
    const uri = "file://" + path.join(root, "unsaved", "shapes.py");  // never on disk
    await conn.sendNotification("textDocument/didOpen",
      { textDocument: { uri, languageId: "python", version: 1, text: SOURCE } });

    const s = await conn.sendRequest<{ name: string; range: unknown; summary: string }>(
      Requests.summarize, at(uri, { line: 5, character: 8 }));
    assert.equal(s.name, "perimeter");
    assert.deepEqual(s.range, { start: { line: 4, character: 0 }, end: { line: 5, character: 22 } });
    assert.equal(typeof s.summary, "string");
    assert.ok(s.summary.length > 0);
    assert.deepEqual(statuses.map((x) => x.state), ["loading", "ready"]);

    // The HTML page draws exactly the JSON export.
    const json = await conn.sendRequest<{ nodes: { kind: string; name?: string }[] }>(Requests.cpg, cpgParams(uri));
    assert.deepEqual(json.nodes.filter((n) => n.kind === "METHOD").map((n) => n.name), ["area", "perimeter"]);
    const page = await conn.sendRequest<{ html: string }>(Requests.cpg, cpgParams(uri, undefined, "html"));
    assert.deepEqual(pageData(page.html), json);
    const one = await conn.sendRequest<unknown>(Requests.cpg, cpgParams(uri, { line: 1, character: 4 }));
    const onePage = await conn.sendRequest<{ html: string }>(Requests.cpg, cpgParams(uri, { line: 1, character: 4 }, "html"));
    assert.deepEqual(pageData(onePage.html), one);

    await conn.sendRequest("shutdown");
    await conn.sendNotification("exit");
    assert.equal(await exited, 0, stderr);
  } finally {
    conn.dispose();
    server.kill();
  }
});

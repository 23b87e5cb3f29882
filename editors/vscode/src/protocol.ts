// Request names, parameter builders and result shapes of ttune's language server
// (docs/editor.md), and the pure helpers the extension uses to show results.
// Nothing here imports `vscode`, so it runs under `node --test`.

export interface Position { line: number; character: number }
export interface Range { start: Position; end: Position }
export interface DocumentAt { textDocument: { uri: string }; position: Position }

export const Requests = {
  summarize: "ttune/summarize",
  summarizeDocument: "ttune/summarizeDocument",
  generateAssert: "ttune/generateAssert",
  translate: "ttune/translate",
  cpg: "ttune/cpg",
} as const;
export const StatusNotification = "ttune/status";
/** workspace/executeCommand commands the server's code lenses run. */
export const ServerCommands = ["ttune.lsp.summarize", "ttune.lsp.translate", "ttune.lsp.generateAssert"];

export interface SummaryResult { name: string; range: Range; summary: string }
export interface AssertResult {
  name: string; focal: string | null; assertion: string; insertAt: Position; replace: Range | null;
  /** False when the assertion does not parse as one statement (the model's own text for a test
   * with no candidate assertion). */
  statement?: boolean;
}
export interface TranslateResult {
  name: string; range: Range; targetLanguage: string; code: string; unchanged: boolean;
  /** The source as ttune's language-pair rules rewrite it, with no edit by the model. */
  mechanical: boolean;
  parses: boolean;
}
export interface Status { state: "loading" | "ready" | "error"; message: string }

export function at(uri: string, position: Position): DocumentAt {
  return { textDocument: { uri }, position: { line: position.line, character: position.character } };
}

export function translateParams(uri: string, position: Position, targetLanguage: string) {
  return { ...at(uri, position), targetLanguage };
}

export function assertParams(uri: string, position: Position, focal?: string) {
  return focal ? { ...at(uri, position), focal } : at(uri, position);
}

export function cpgParams(uri: string, position?: Position, format: "json" | "html" = "json") {
  return position ? { ...at(uri, position), format } : { textDocument: { uri }, format };
}

/** The settings of the `ttune` section, as the server reads them (initializationOptions). */
export interface TtuneSettings {
  pythonPath?: string; model?: string; transducer?: Record<string, string>; numBeams?: number;
  device?: string; maxFileBytes?: number; maxNewTokens?: number;
}

/** initializationOptions for the server: the `ttune` settings without the client-only ones. */
export function initializationOptions(settings: TtuneSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ["model", "transducer", "numBeams", "device", "maxFileBytes", "maxNewTokens"] as const) {
    const v = settings[key];
    if (v !== undefined && v !== null && v !== "") out[key] = v;
  }
  return out;
}

/** How to start the server: `python -m ttune lsp` with the configured interpreter. */
export function serverCommand(settings: TtuneSettings, env: Record<string, string | undefined>) {
  const command = settings.pythonPath || env.TTUNE_PYTHON || (process.platform === "win32" ? "python" : "python3");
  return { command, args: ["-m", "ttune", "lsp"] };
}

/** The text that puts an assertion into the test: replaces the placeholder statement when there
 *  is one, else goes on its own line before the closing brace (or after the last Python line). */
export function assertEdit(result: AssertResult, lineText: string, language: string) {
  const indent = (lineText.match(/^\s*/) ?? [""])[0];
  if (result.replace) return { range: result.replace, text: result.assertion };
  // lineText is the line of insertAt: the last body line (Python) or the closing brace's line.
  const text = language === "python" ? "\n" + indent + result.assertion
    : "    " + result.assertion + "\n" + indent;
  return { range: { start: result.insertAt, end: result.insertAt }, text };
}

/** One line for a notification: `name: summary`. */
export function summaryLine(result: SummaryResult | null): string {
  return result ? `${result.name}: ${result.summary}` : "ttune: no function at the cursor";
}

/** The status bar text for a ttune/status notification. */
export function statusText(status: Status): string {
  const icon = { loading: "$(sync~spin)", ready: "$(check)", error: "$(error)" }[status.state] ?? "";
  return `${icon} ttune${status.state === "error" ? ": error" : status.state === "loading" ? ": loading" : ""}`;
}

/** The graph data a `ttune/cpg` HTML page draws (its `cpg-data` element). */
export function pageData(html: string): unknown {
  const m = html.match(/<script type="application\/json" id="cpg-data">([\s\S]*?)<\/script>/);
  if (!m) throw new Error("not a ttune CPG page (no cpg-data element)");
  return JSON.parse(m[1]);
}

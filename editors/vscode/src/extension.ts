// The ttune extension: starts `python -m ttune lsp`, contributes commands and settings and shows
// the server's results. All logic is in the Python server; request builders are in protocol.ts.
import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions } from "vscode-languageclient/node";
import {
  AssertResult, Requests, Status, StatusNotification, SummaryResult, TranslateResult,
  TtuneSettings, assertEdit, assertParams, at, cpgParams, initializationOptions, serverCommand,
  statusText, summaryLine, translateParams,
} from "./protocol";

let client: LanguageClient | undefined;

function settings(): TtuneSettings {
  const c = vscode.workspace.getConfiguration("ttune");
  return {
    pythonPath: c.get("pythonPath"), model: c.get("model"), transducer: c.get("transducer"),
    numBeams: c.get("numBeams"), device: c.get("device"), maxFileBytes: c.get("maxFileBytes"),
    maxNewTokens: c.get("maxNewTokens") || undefined,
  };
}

function here(editor: vscode.TextEditor) {
  return { uri: editor.document.uri.toString(), position: editor.selection.active };
}

async function showSummary(result: SummaryResult | null) {
  await vscode.window.showInformationMessage(summaryLine(result));
}

/** Shows an edit as a preview the user confirms (workspace edit with needsConfirmation). */
async function previewEdit(uri: vscode.Uri, range: vscode.Range, text: string, label: string) {
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, range, text, { label, needsConfirmation: true });
  await vscode.workspace.applyEdit(edit);
}

function toRange(r: { start: { line: number; character: number }; end: { line: number; character: number } }) {
  return new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
}

async function showAssert(doc: vscode.TextDocument, result: AssertResult | null) {
  if (!result) return vscode.window.showInformationMessage("ttune: no test function at the cursor");
  const line = doc.lineAt(Math.min(result.insertAt.line, doc.lineCount - 1)).text;
  const e = assertEdit(result, line, doc.languageId);
  if (result.statement === false) {
    vscode.window.showWarningMessage(
      `ttune: the answer for ${result.name} does not parse as an assertion (no candidate fits the test)`);
  }
  await previewEdit(doc.uri, toRange(e.range), e.text, `ttune: assertion for ${result.name}`);
}

async function showTranslation(result: TranslateResult | null) {
  if (!result) return vscode.window.showInformationMessage("ttune: no function at the cursor");
  const language = result.targetLanguage === "csharp" ? "csharp" : result.targetLanguage;
  const doc = await vscode.workspace.openTextDocument({ content: result.code, language });
  await vscode.window.showTextDocument(doc, vscode.ViewColumn.Beside, true);
  if (result.unchanged) {
    vscode.window.showInformationMessage(`ttune: no translation of ${result.name}; the source is shown unchanged`);
  } else if (result.mechanical) {
    vscode.window.showInformationMessage(`ttune: ${result.name} is translated by rules only; the model changed nothing`);
  }
  if (!result.parses) {
    vscode.window.showWarningMessage(`ttune: the translation of ${result.name} does not parse as ${language}; check it before use`);
  }
}

async function showGraph(editor: vscode.TextEditor, whole: boolean) {
  const { uri, position } = here(editor);
  const page = await client!.sendRequest<{ html: string }>(Requests.cpg, cpgParams(uri, whole ? undefined : position, "html"));
  const panel = vscode.window.createWebviewPanel("ttuneCpg", "ttune: code property graph", vscode.ViewColumn.Beside,
    { enableScripts: true, localResourceRoots: [] });
  panel.webview.html = page.html;
}

export async function activate(context: vscode.ExtensionContext) {
  const s = settings();
  const { command, args } = serverCommand(s, process.env);
  const serverOptions: ServerOptions = { command, args, options: { env: { ...process.env } } };
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right);
  status.text = "ttune";
  status.show();
  const clientOptions: LanguageClientOptions = {
    documentSelector: ["python", "java", "csharp"].map((language) => ({ language })),
    initializationOptions: initializationOptions(s),
    synchronize: { configurationSection: "ttune" },
    middleware: {
      // Code lenses run the server's commands; show what they return.
      executeCommand: async (cmd, cmdArgs, next) => {
        const result = await next(cmd, cmdArgs);
        const editor = vscode.window.activeTextEditor;
        if (cmd === "ttune.lsp.summarize") await showSummary(result as SummaryResult | null);
        else if (cmd === "ttune.lsp.translate") await showTranslation(result as TranslateResult | null);
        else if (cmd === "ttune.lsp.generateAssert" && editor) await showAssert(editor.document, result as AssertResult | null);
        return result;
      },
    },
  };
  client = new LanguageClient("ttune", "ttune", serverOptions, clientOptions);
  const withEditor = (f: (e: vscode.TextEditor) => Promise<unknown>) => async () => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return vscode.window.showWarningMessage("ttune: open a Python, Java or C# file first");
    try { await f(editor); } catch (e) { vscode.window.showErrorMessage(`ttune: ${(e as Error).message}`); }
  };
  context.subscriptions.push(
    status,
    vscode.commands.registerCommand("ttune.summarize", withEditor(async (e) => {
      const { uri, position } = here(e);
      await showSummary(await client!.sendRequest<SummaryResult | null>(Requests.summarize, at(uri, position)));
    })),
    vscode.commands.registerCommand("ttune.summarizeDocument", withEditor(async (e) => {
      const results = await client!.sendRequest<SummaryResult[]>(Requests.summarizeDocument,
        { textDocument: { uri: e.document.uri.toString() } });
      const doc = await vscode.workspace.openTextDocument({ content: results.map(summaryLine).join("\n"), language: "plaintext" });
      await vscode.window.showTextDocument(doc, vscode.ViewColumn.Beside, true);
    })),
    vscode.commands.registerCommand("ttune.generateAssert", withEditor(async (e) => {
      const { uri, position } = here(e);
      await showAssert(e.document, await client!.sendRequest<AssertResult | null>(Requests.generateAssert, assertParams(uri, position)));
    })),
    vscode.commands.registerCommand("ttune.translate", withEditor(async (e) => {
      const target = await vscode.window.showQuickPick(["csharp", "java", "python"].filter((l) => l !== e.document.languageId),
        { placeHolder: "Translate into" });
      if (!target) return;
      const { uri, position } = here(e);
      await showTranslation(await client!.sendRequest<TranslateResult | null>(Requests.translate, translateParams(uri, position, target)));
    })),
    vscode.commands.registerCommand("ttune.showGraph", withEditor((e) => showGraph(e, false))),
    vscode.commands.registerCommand("ttune.showFileGraph", withEditor((e) => showGraph(e, true))),
  );
  try {
    await client.start();
  } catch (e) {
    status.text = "$(error) ttune";
    vscode.window.showErrorMessage(`ttune: cannot start "${command} ${args.join(" ")}" (${(e as Error).message}); ` +
      "set ttune.pythonPath to a Python with ttune installed");
    return;
  }
  client.onNotification(StatusNotification, (st: Status) => {
    status.text = statusText(st);
    status.tooltip = st.message;
  });
}

export async function deactivate() {
  await client?.stop();
}

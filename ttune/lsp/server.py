"""The language server: LSP over stdio (or TCP) on pygls, answering ttune's custom requests.

Requests and their shapes are documented in docs/editor.md. The handlers only read params, find
the function at a position in the editor's text (unsaved edits included) and call library
functions (:mod:`ttune.session`, :mod:`ttune.api`); model work runs in a thread pool so the event
loop keeps answering. A cancelled request (``$/cancelRequest``, or a cancelled work-done progress)
sets a flag that generation polls after every decoding step, and gets error -32800.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import itertools
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from ttune import __version__, api
from ttune import session as engine
from ttune.builtin import models_dir
from ttune.cpg.languages import (
    describe,
    find_language,
    get_language,
    language_names,
    language_of_path,
)
from ttune.data.io import PLACEHOLDER
from ttune.lsp.settings import Settings, merge
from ttune.lsp.text import LineIndex
from ttune.use import checked_assertion, translation_checks

log = logging.getLogger(__name__)


def language_of_id(language_id: str | None) -> str | None:
    """ttune's name for an editor language id (``python``, ``java``, ``csharp``, an alias such as
    ``c#``), from the language table; None for a language ttune does not read."""
    found = find_language((language_id or "").lower())
    return found.name if found else None


def translate_default(lang: str) -> str:
    """The target a "Translate" code lens offers: the target of a built-in translation model for
    ``lang`` when there is one (``translate-java-csharp``), else the table's first other
    language."""
    prefix = f"translate-{lang}-"
    root = models_dir()
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(prefix) and find_language(folder.name[len(prefix) :]):
                return find_language(folder.name[len(prefix) :]).name
    return next(name for name in language_names() if name != lang)


COMMANDS = {
    "ttune.lsp.summarize": "ttune/summarize",
    "ttune.lsp.translate": "ttune/translate",
    "ttune.lsp.generateAssert": "ttune/generateAssert",
}
"""workspace/executeCommand commands (what code lenses run) and the request each one answers."""
_TEST_MARK = re.compile(r"@Test\b|\[\s*(Test|TestMethod|Fact|Theory)\b")


class RequestFailed(JsonRpcException):
    """A well-formed request that cannot be answered (no model, file too large): LSP's
    RequestFailed, with a one-line message."""

    CODE = -32803


class TtuneServer(LanguageServer):
    """pygls server holding the settings, the loaded models and the summaries computed so far."""

    def __init__(self) -> None:
        super().__init__("ttune", __version__)
        self.settings = Settings()
        self.models = engine.ModelCache()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="ttune-model"
        )
        self.summaries: dict[tuple[str, str], str] = {}
        """(uri, digest of the function's text) -> summary, for hover."""
        self.failed_loads: set[tuple] = set()
        self._tokens = itertools.count(1)

    # ------------------------------------------------------------------ params
    def document(self, params: Any, position: bool = False) -> tuple[Any, str, str, LineIndex]:
        """(document, language, text, positions) of ``params.textDocument``; InvalidParams when
        it (or ``params.position``, when ``position``) is malformed, RequestFailed when the
        document is unreadable, unsupported or too large."""
        uri = _field(_field(params, "textDocument", dict), "uri", str)
        if position:
            _position(params)
        doc = self.workspace.get_text_document(uri)
        try:
            text = doc.source
        except OSError as e:
            raise RequestFailed(f"cannot read {uri}: {e.strerror or e}") from None
        lang = language_of_id(doc.language_id)
        if lang is None:
            by_path = language_of_path(doc.path or uri)
            lang = by_path.name if by_path else None
        if lang is None:
            raise RequestFailed(f"{uri}: not {describe(display=True)}")
        size = len(text.encode("utf-8"))
        if size > self.settings.max_file_bytes:
            raise RequestFailed(
                f"{uri} is {size} bytes; the limit (ttune.maxFileBytes) is "
                f"{self.settings.max_file_bytes}"
            )
        return doc, lang, text, LineIndex(text, doc.position_codec.client_num_units)

    def functions(self, text: str, lang: str) -> list:
        return engine.find_functions(text, lang)

    def function_at(self, params: Any, text: str, lang: str, index: LineIndex):
        """The innermost function around ``params.position``, or None."""
        offset = index.offset(*_position(params))
        around = [f for f in self.functions(text, lang) if f.start_byte <= offset <= f.end_byte]
        return max(around, key=lambda f: f.start_byte) if around else None

    # ------------------------------------------------------------------ models
    def status(self, state: str, message: str = "") -> None:
        """Send the ``ttune/status`` notification: loading, ready or error (one-line reason)."""
        self.protocol.notify("ttune/status", {"state": state, "message": message})

    async def load(self, task: str, lang: str, target_lang: str | None = None) -> engine.Loaded:
        """The model for ``task`` on ``lang``, loaded in the pool on first use (status loading ->
        ready, or error with a showMessage line)."""
        s = self.settings
        try:
            resolved = self.models.resolve(
                task,
                lang,
                model=s.model,
                transducer=s.transducer.get(task),
                target_lang=target_lang,
            )
        except ValueError as e:
            raise RequestFailed(_one_line(e)) from None
        fresh = not self.models.is_loaded(resolved, s.device)
        if fresh:
            self.status("loading", f"loading {resolved.transducer.name} on {resolved.backbone}")
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(
                self.pool,
                lambda: self.models.load(
                    task,
                    lang,
                    model=s.model,
                    transducer=s.transducer.get(task),
                    target_lang=target_lang,
                    device=s.device,
                ),
            )
        except Exception as e:  # any load failure: report it, keep serving
            reason = f"cannot load the {task} model: {_one_line(e)}"
            self.status("error", reason)
            key = (self.models.key(resolved, s.device), reason)
            if key not in self.failed_loads:
                self.failed_loads.add(key)
                self.window_show_message(
                    types.ShowMessageParams(types.MessageType.Error, f"ttune: {reason}")
                )
            raise RequestFailed(reason) from None
        if fresh:
            self.status("ready", f"{resolved.transducer.name} loaded")
        return loaded

    async def run_model(
        self, work: Callable[[Callable[[], bool]], Any], cancel: threading.Event, what: str
    ) -> Any:
        """``work(should_stop)`` in the pool. When this request is cancelled, sets ``cancel`` and
        waits for the work to stop (generation polls the flag every decoding step) before the
        request ends with -32800."""
        job = self.pool.submit(work, cancel.is_set)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            asked = time.perf_counter()
            cancel.set()
            await asyncio.wait([asyncio.wrap_future(job)], timeout=10)
            waited = 1000 * (time.perf_counter() - asked)
            try:
                job.result(timeout=0)
            except engine.Cancelled as stopped:
                self.window_log_message(
                    types.LogMessageParams(
                        types.MessageType.Info,
                        f"{what} cancelled: {stopped} ({waited:.0f} ms after the cancel)",
                    )
                )
            except (
                BaseException
            ):  # the work ended some other way; the request is cancelled all the same
                pass
            raise
        except engine.Cancelled as stopped:  # a cancelled work-done progress set the flag
            self.window_log_message(
                types.LogMessageParams(types.MessageType.Info, f"{what} cancelled: {stopped}")
            )
            raise asyncio.CancelledError() from None
        except ValueError as e:
            raise RequestFailed(_one_line(e)) from None

    def generate(self, loaded, records, should_stop) -> list[str]:
        return engine.generate(
            loaded,
            records,
            num_beams=self.settings.num_beams,
            max_new_tokens=self.settings.max_new_tokens,
            should_stop=should_stop,
        )

    # ------------------------------------------------------------------ requests
    async def summarize(self, params: Any) -> dict | None:
        doc, lang, text, index = self.document(params, position=True)
        fn = self.function_at(params, text, lang, index)
        if fn is None:
            return None
        loaded = await self.load("summarize", lang)
        [generated] = await self.run_model(
            lambda stop: self.generate(loaded, [engine.summarize_record(fn, lang)], stop),
            threading.Event(),
            "ttune/summarize",
        )
        summary = engine.summary_text(generated)
        self.summaries[(doc.uri, _digest(fn.source))] = summary
        return {
            "name": fn.name,
            "range": index.range(fn.start_byte, fn.end_byte),
            "summary": summary,
        }

    async def summarize_document(self, params: Any) -> list[dict]:
        doc, lang, text, index = self.document(params)
        functions = self.functions(text, lang)
        cancel = threading.Event()
        token = params.get("workDoneToken") if isinstance(params, dict) else None
        if token is None and _supports_progress(self.client_capabilities):
            token = f"ttune-{os.getpid()}-{next(self._tokens)}"
            await self.work_done_progress.create_async(token)
        progress = self.work_done_progress
        if token is not None:
            progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title="ttune: summarizing",
                    cancellable=True,
                    percentage=0,
                    message=f"{len(functions)} functions",
                ),
            )
            progress.tokens[token].add_done_callback(lambda f: f.cancelled() and cancel.set())
        out: list[dict] = []
        try:
            loaded = await self.load("summarize", lang) if functions else None
            for i, fn in enumerate(functions):
                if cancel.is_set():
                    raise asyncio.CancelledError()
                if token is not None:
                    progress.report(
                        token,
                        types.WorkDoneProgressReport(
                            message=fn.name, percentage=int(100 * i / len(functions))
                        ),
                    )
                [generated] = await self.run_model(
                    lambda stop, fn=fn: self.generate(
                        loaded, [engine.summarize_record(fn, lang)], stop
                    ),
                    cancel,
                    "ttune/summarizeDocument",
                )
                summary = engine.summary_text(generated)
                self.summaries[(doc.uri, _digest(fn.source))] = summary
                out.append(
                    {
                        "name": fn.name,
                        "range": index.range(fn.start_byte, fn.end_byte),
                        "summary": summary,
                    }
                )
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            if token is not None:
                progress.end(
                    token,
                    types.WorkDoneProgressEnd(
                        message="cancelled" if cancel.is_set() else f"{len(out)} summaries"
                    ),
                )
                progress.tokens.pop(token, None)
        return out

    async def generate_assert(self, params: Any) -> dict | None:
        doc, lang, text, index = self.document(params, position=True)
        test = self.function_at(params, text, lang, index)
        if test is None:
            return None
        candidates = None
        focal = params.get("focal")
        if focal is not None:
            _, flang, ftext, _ = self.document(
                {"textDocument": {"uri": _field(params, "focal", str)}}
            )
            if flang != lang:
                raise RequestFailed(f"the focal file is {flang} but the test is {lang}")
            candidates = self.functions(ftext, flang)
        data = index.data
        record, focal_fn = engine.assert_record(
            data, lang, self.functions(text, lang), test, candidates
        )
        loaded = await self.load("assert", lang)
        [assertion] = await self.run_model(
            lambda stop: self.generate(loaded, [record], stop),
            threading.Event(),
            "ttune/generateAssert",
        )
        at = data.find(PLACEHOLDER.encode(), test.start_byte, test.end_byte)
        if at >= 0:
            end = at + len(PLACEHOLDER.encode())
            end += 1 if data[end : end + 1] == b";" else 0
            insert, replace = index.position(at), index.range(at, end)
        else:
            close = (
                data.rfind(b"}", test.start_byte, test.end_byte)
                if get_language(lang).blocks == "braces"
                else -1
            )
            insert, replace = index.position(close if close >= 0 else test.end_byte), None
        return {
            "name": test.name,
            "focal": focal_fn.name if focal_fn else None,
            **checked_assertion(assertion, lang),
            "insertAt": insert,
            "replace": replace,
        }

    async def translate(self, params: Any) -> dict | None:
        doc, lang, text, index = self.document(params, position=True)
        to = _field(params, "targetLanguage", str).lower()
        to = language_of_id(to) or to
        if to not in language_names():
            raise JsonRpcInvalidParams(
                f"targetLanguage must be one of {', '.join(language_names())}"
            )
        if to == lang:
            raise JsonRpcInvalidParams(f"the document is already {lang}")
        fn = self.function_at(params, text, lang, index)
        if fn is None:
            return None
        loaded = await self.load("translate", lang, target_lang=to)
        record = engine.translate_record(fn, lang, to)
        [code] = await self.run_model(
            lambda stop: self.generate(loaded, [record], stop),
            threading.Event(),
            "ttune/translate",
        )
        return {
            "name": fn.name,
            "range": index.range(fn.start_byte, fn.end_byte),
            "targetLanguage": to,
            "code": code,
            **translation_checks(code, record["source"], to, lang),
        }

    def cpg(self, params: Any) -> dict:
        doc, lang, text, index = self.document(params)
        fmt = params.get("format", "json")
        if fmt not in ("json", "html"):
            raise JsonRpcInvalidParams("format must be json or html")
        fn = None
        if params.get("position") is not None:
            fn = self.function_at(params, text, lang, index)
        try:
            graph = api.cpg_of_source(
                text,
                lang,
                function=fn.simple_name if fn else None,
                start_byte=fn.start_byte if fn else None,
            )
        except ValueError as e:
            raise RequestFailed(_one_line(e)) from None
        if fmt == "html":
            return {"html": api.render_cpg(graph, "html")}
        return api.cpg_to_json(graph)

    # ------------------------------------------------------------------ editor features
    def code_lenses(self, params: types.CodeLensParams) -> list[types.CodeLens]:
        try:
            doc, lang, text, index = self.document(
                {"textDocument": {"uri": params.text_document.uri}}
            )
        except RequestFailed:
            return []
        lenses = []
        for fn in self.functions(text, lang):
            r = index.range(fn.start_byte, fn.end_byte)
            rng = types.Range(types.Position(**r["start"]), types.Position(**r["end"]))
            at = {"textDocument": {"uri": doc.uri}, "position": r["start"]}
            lenses.append(
                types.CodeLens(
                    rng, types.Command("Summarize", "ttune.lsp.summarize", arguments=[at])
                )
            )
            lenses.append(
                types.CodeLens(
                    rng,
                    types.Command(
                        "Translate",
                        "ttune.lsp.translate",
                        arguments=[{**at, "targetLanguage": translate_default(lang)}],
                    ),
                )
            )
            if fn.simple_name.lower().startswith("test") or _TEST_MARK.search(
                fn.source.split("(", 1)[0]
            ):
                lenses.append(
                    types.CodeLens(
                        rng,
                        types.Command(
                            "Generate assert", "ttune.lsp.generateAssert", arguments=[at]
                        ),
                    )
                )
        return lenses

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        try:
            doc, lang, text, index = self.document({"textDocument": {"uri": uri}})
            fn = self.function_at(
                {
                    "position": {
                        "line": params.position.line,
                        "character": params.position.character,
                    }
                },
                text,
                lang,
                index,
            )
        except (RequestFailed, JsonRpcInvalidParams):
            return None
        summary = self.summaries.get((uri, _digest(fn.source))) if fn else None
        if summary is None:
            return None
        r = index.range(fn.start_byte, fn.end_byte)
        return types.Hover(
            types.MarkupContent(types.MarkupKind.Markdown, f"**ttune:** {summary}"),
            types.Range(types.Position(**r["start"]), types.Position(**r["end"])),
        )

    async def refresh_settings(self) -> None:
        """Pull the ``ttune`` section of the client's configuration (when it offers one)."""
        ws = getattr(self.client_capabilities, "workspace", None)
        if not getattr(ws, "configuration", False):
            return
        try:
            [section] = await self.workspace_configuration_async(
                types.ConfigurationParams([types.ConfigurationItem(section="ttune")])
            )
        except Exception as e:  # a client that fails the request keeps the current settings
            log.warning("workspace/configuration failed: %s", e)
            return
        self.apply_settings(section)

    def apply_settings(self, options: Any) -> None:
        self.settings, problems = merge(self.settings, options)
        for p in problems:
            self.window_show_message(
                types.ShowMessageParams(types.MessageType.Warning, f"ttune: {p}")
            )


# ---------------------------------------------------------------------- helpers
def _field(params: Any, name: str, kind: type) -> Any:
    """``params[name]``, which must be a ``kind``; InvalidParams otherwise."""
    if not isinstance(params, dict):
        raise JsonRpcInvalidParams("params must be an object")
    value = params.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise JsonRpcInvalidParams(
            f"{name} must be {'an' if kind is int else 'a'} "
            f"{ {dict: 'object', str: 'string', int: 'integer'}[kind] }"
        )
    return value


def _position(params: Any) -> tuple[int, int]:
    """(line, character) of ``params.position``; InvalidParams when malformed."""
    pos = _field(params, "position", dict)
    line, char = _field(pos, "line", int), _field(pos, "character", int)
    if line < 0 or char < 0:
        raise JsonRpcInvalidParams("position.line and position.character must be >= 0")
    return line, char


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _supports_progress(caps: Any) -> bool:
    return bool(getattr(getattr(caps, "window", None), "work_done_progress", False))


def _raw(params: Any) -> Any:
    """Params of a custom request as plain JSON (pygls hands them over as nested namedtuples)."""
    if hasattr(params, "_asdict"):
        return {k: _raw(v) for k, v in params._asdict().items()}
    if isinstance(params, (list, tuple)):
        return [_raw(v) for v in params]
    return params


def build_server() -> TtuneServer:
    """A server with every feature registered."""
    server = TtuneServer()

    @server.feature(types.INITIALIZE)
    def _initialize(ls: TtuneServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def _initialized(ls: TtuneServer, params: types.InitializedParams) -> None:
        await ls.refresh_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def _configuration(ls: TtuneServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("ttune"), dict):
            ls.apply_settings(settings["ttune"])
        else:
            await ls.refresh_settings()

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def _lenses(ls: TtuneServer, params: types.CodeLensParams):
        return ls.code_lenses(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def _hover(ls: TtuneServer, params: types.HoverParams):
        return ls.hover(params)

    requests = {
        "ttune/summarize": server.summarize,
        "ttune/summarizeDocument": server.summarize_document,
        "ttune/generateAssert": server.generate_assert,
        "ttune/translate": server.translate,
    }

    def handler_for(method: Callable):
        async def handler(ls: TtuneServer, params: Any):
            return await method(_raw(params))

        return handler

    for name, method in requests.items():
        server.feature(name)(handler_for(method))

    @server.feature("ttune/cpg")
    def _cpg(ls: TtuneServer, params: Any):
        return ls.cpg(_raw(params))

    def command_for(request: str):
        async def run_command(ls: TtuneServer, *args: Any):
            if len(args) != 1:
                raise JsonRpcInvalidParams(f"{request} takes one argument: its params object")
            return await requests[request](_raw(args[0]))

        return run_command

    for command, request in COMMANDS.items():
        server.command(command)(command_for(request))

    @server.feature(types.SHUTDOWN)
    def _shutdown(ls: TtuneServer, params: Any) -> None:
        ls.pool.shutdown(wait=False, cancel_futures=True)

    return server


def serve(tcp: tuple[str, int] | None = None) -> None:
    """Run the server on stdio, or on ``tcp`` (host, port) for debugging. Hub access is off:
    models load from local folders only."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    server = build_server()
    if tcp is None:
        server.start_io()
    else:
        server.start_tcp(*tcp)

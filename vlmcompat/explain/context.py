"""What a traceback says beyond its last line: which libraries' frames it passes through, whether PEFT
is involved, and whether the user's own code passed an argument.

Frames come in many shapes — ``File "…/site-packages/peft/peft_model.py", line 1845, in forward``,
IPython's ``File ~/…/deprecation.py:165, in wrapped_func`` and ``[/usr/…/peft/peft_model.py](…) in
forward(…)``, pytest's ``…/monkey_patch.py:1619: in apply…``, rich's ``│ …\\tuners_utils.py:161 in …``.
All of them name a path; a path under ``site-packages/<lib>/`` (or ``dist-packages``) is a frame of
``<lib>``, any other path is the user's code. Every pattern here is bounded, so building a context is
linear in the (already bounded) excerpt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LIBRARY = re.compile(r"(?:site|dist)-packages[\\/]{1,2}([A-Za-z_]\w{0,60})[\\/]")
_CUSTOM_NODE = re.compile(r"custom_nodes[\\/]{1,2}([\w.-]{1,80})")
_FILE_QUOTED = re.compile(r'File "([^"\n]{1,500})"')
_PY_END = re.compile(r"\.py(?=:\d|\]\(| in |, line)")
_TOKEN_BREAK = re.compile(r"[\s\"'()\[\]|│]")
_PEFT = re.compile(r"[/\\]peft[/\\]|\bPeftModel\w{0,30}|\bget_peft_model\b|\bLoraConfig\b|\bpeft\.\w|"
                   r"^[ \t>]{0,8}(?:from|import) peft\b", re.M)
_STDLIB = frozenset({"importlib", "runpy", "threading", "concurrent", "multiprocessing", "contextlib", "functools",
                     "asyncio", "_pytest", "pluggy", "IPython", "ipykernel", "tqdm"})


@dataclass
class Context:
    text: str  # the cleaned excerpt the context was read from
    libraries: tuple[str, ...] = ()  # libraries whose frames appear, in order of appearance (each once)
    custom_nodes: tuple[str, ...] = ()  # ComfyUI-style plug-in folders named in the text
    peft: bool = False  # a peft frame, a PeftModel, get_peft_model or LoraConfig appears
    _user_lines: list[str] = field(default_factory=list, repr=False)  # code lines of frames outside site-packages

    def has(self, library: str) -> bool:
        return library in self.libraries

    def others(self, *exclude: str) -> tuple[str, ...]:
        """Libraries with frames in the text, apart from ``exclude``, torch and the standard machinery."""
        skip = {*exclude, "torch"} | _STDLIB
        return tuple(lib for lib in self.libraries if lib not in skip)

    def user_passes(self, argument: str) -> bool:
        """Whether a frame of the user's own code passes ``argument=`` (the caller, not a library, sent it)."""
        pattern = re.compile(rf"\b{re.escape(argument)}\s{{0,4}}=(?!=)")
        return any(pattern.search(line) for line in self._user_lines)


def _frame_path(line: str) -> str | None:
    found = _FILE_QUOTED.search(line)
    if found:
        return found.group(1)
    end = _PY_END.search(line)
    if not end:
        return None
    head = line[max(0, end.start() - 500):end.start()]
    breaks = [m.end() for m in _TOKEN_BREAK.finditer(head)]
    return head[breaks[-1] if breaks else 0:] + ".py"


def _frame_library(line: str) -> str | None:
    """'' for a frame of the user's code, the library for a site-packages frame, None for a non-frame line."""
    path = _frame_path(line)
    if path is None:
        return None
    library = _LIBRARY.search(path)
    return library.group(1) if library else ""


def read(text: str) -> Context:
    """The context of a cleaned excerpt."""
    libraries: dict[str, None] = {}
    user_lines: list[str] = []
    current: str | None = None
    for line in text.splitlines():
        library = _frame_library(line)
        if library is not None:
            current = library
            if library:
                libraries.setdefault(library, None)
            continue
        if current == "":
            user_lines.append(line)
    for found in _LIBRARY.finditer(text.replace("\n", "")):  # paths outside frames, or wrapped over lines
        libraries.setdefault(found.group(1), None)
    nodes = tuple(dict.fromkeys(m.group(1) for m in _CUSTOM_NODE.finditer(text)))
    return Context(text, tuple(libraries), nodes, bool(_PEFT.search(text)), user_lines)

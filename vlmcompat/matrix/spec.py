"""matrix.toml → cell specs: which transformers/tokenizers/peft combinations the matrix installs.

A :class:`CellSpec` is what matrix.toml asks for (its requirements and expectations); what a
cell produced is a :class:`~vlmcompat.results.CellResult`. A cell is written explicitly, or many
cells come from a product with excludes (the
GitHub Actions / tox way)::

    [[cell]]
    name = "newest"                    # optional; default t4.44.0-tok0.19.1-peft0.16.0
    transformers = "4.44.0"            # a version, a specifier (">=4.53,<4.54") or "newest"
    tokenizers = "0.19.1"              # optional (the resolver picks one)
    peft = "0.16.0"
    trl = "0.19.1"                     # optional
    torch = "2.13.0"                   # optional; default: the host's torch is shared
    extras = ["sentencepiece"]         # optional extra requirements

    [[cell.expect]]                    # a known outcome, read by the gate
    probe = "peft-import"
    family = "*"                       # default "*" (any); mode too
    status = "fail"
    issue = "peft-import"
    reason = "peft 0.16 needs EncoderDecoderCache (transformers >= 4.43)"
    link = "https://..."

    model = "checkpoints/my-blip2"     # optional: probe this checkpoint folder (vlmcompat probe --model)
    run = ["python train.py --smoke"]  # optional: also run these commands in the cell (probe "run")

    [[product]]
    transformers = ["4.44.0", "4.53.3"]
    peft = ["0.8.2", "0.16.0"]
    exclude = [{transformers = "4.53.3", peft = "0.8.2"}]

``model`` and ``run`` may also be set at the top level, for every cell; a cell's own value replaces
it. A relative ``model`` path is read from the matrix file's folder, and ``run`` commands run there.

Every problem is a :class:`~vlmcompat.errors.MatrixError` whose message starts with
``path:line:``. tomllib gives no positions for keys, so :mod:`vlmcompat.matrix.source`
finds them in the text.

Size: the parser and its line-precise checks of every key belong together; ~320 lines.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from vlmcompat import known_issues
from vlmcompat.errors import MatrixError
from vlmcompat.matrix.source import Source
from vlmcompat.paths import MATRIX_FILE, NEWEST, STACK, cell_id
from vlmcompat.results import Mode, Status

USER_KEYS = ("model", "run")  # the user's checkpoint folder and commands, top level or per cell
CELL_KEYS = ("name", *STACK, "extras", "expect", *USER_KEYS)
PRODUCT_KEYS = (*STACK, "extras", "exclude", "expect", *USER_KEYS)
EXPECT_KEYS = ("probe", "family", "mode", "status", "issue", "reason", "link")
TOP_KEYS = ("cell", "product", *USER_KEYS)
_OPS = {"==": "", "===": "", ">=": "ge", "<=": "le", ">": "gt", "<": "lt", "~=": "compat", "!=": "ne"}
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$")


@dataclass(frozen=True)
class Expectation:
    probe: str
    family: str = "*"
    mode: str = "*"
    status: str = "pass"
    issue: str | None = None
    reason: str = ""
    link: str | None = None

    def matches(self, probe: str, family: str, mode: str) -> bool:
        """Whether this covers a result; fields are shell-style patterns ("*", "instructblip-*")."""
        return all(fnmatch.fnmatchcase(got, want) for want, got in
                   ((self.probe, probe), (self.family, family), (self.mode, str(mode))))


@dataclass
class CellSpec:
    """One cell as matrix.toml asks for it."""

    name: str
    requirements: list[str]
    torch: str | None = None
    expect: list[Expectation] = field(default_factory=list)
    pins: dict[str, str] = field(default_factory=dict)  # package -> specifier ("" = newest)
    line: int = 0
    model: str | None = None  # a checkpoint folder to probe instead of the tiny families
    run: list[str] = field(default_factory=list)  # the user's commands, run as probe "run"
    run_in: str | None = None  # the folder they run in: the matrix file's

    def probe_args(self) -> list[str]:
        """``vlmcompat probe`` arguments for this cell's model and commands."""
        args = ["--model", self.model] if self.model else []
        for command in self.run:
            args += ["--run", command]
        if self.run and self.run_in:
            args += ["--run-in", self.run_in]
        return args

    def expected(self, probe: str, family: str, mode: str) -> Expectation | None:
        """The first expectation that covers this probe × family × mode, if any."""
        return next((e for e in self.expect if e.matches(probe, family, mode)), None)


@dataclass
class Matrix:
    cells: list[CellSpec]
    path: str = str(MATRIX_FILE)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cells]

    def get(self, name: str) -> CellSpec:
        for cell in self.cells:
            if cell.name == name:
                return cell
        raise MatrixError(f"{self.path}: no cell named {name!r}; cells: {', '.join(self.names)}")


def load(path: str | Path = MATRIX_FILE) -> Matrix:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MatrixError(f"{path}: no such file; create it or pass the matrix file's path") from None
    except UnicodeDecodeError as exc:
        raise MatrixError(f"{path}: not UTF-8 text (byte {exc.start}); save matrix.toml as UTF-8") from None
    except OSError as exc:
        raise MatrixError(f"{path}: cannot be read ({exc.strerror}); pass a readable matrix file") from None
    return parse(text, str(path))


def parse(text: str, path: str = str(MATRIX_FILE)) -> Matrix:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = match.group(1) if match else "1"
        raise MatrixError(f"{path}:{line}: not valid TOML ({str(exc).split(' (at line')[0]})") from None
    return _Parser(Source(text), path).matrix(data)


def version_label(spec: str) -> str:
    """The readable part of a cell id for one pin: 4.44.0, newest, ge4.53+lt4.54."""
    if not spec:
        return NEWEST
    parts = sorted(SpecifierSet(spec), key=lambda s: (s.operator not in ("==", "==="), s.version))
    return "+".join(_OPS[s.operator] + s.version.replace("*", "x") for s in parts)


class _Parser:
    def __init__(self, source: Source, path: str) -> None:
        self.source = source
        self.path = path
        self.defaults: dict[str, Any] = {}

    def fail(self, line: int, message: str) -> MatrixError:
        return MatrixError(f"{self.path}:{line}: {message}")

    def matrix(self, data: dict[str, Any]) -> Matrix:
        for key in data:
            if key not in TOP_KEYS:
                raise self.fail(self.source.top_key(key),
                                f"unknown table {key!r}; known: {', '.join(TOP_KEYS)}")
        self.defaults = self.user_settings(data, None, "the matrix")
        cells: list[CellSpec] = []
        for index, table in enumerate(self._tables(data, "cell")):
            cells.append(self.cell(table, index))
        for index, table in enumerate(self._tables(data, "product")):
            cells.extend(self.product(table, index))
        seen: dict[str, CellSpec] = {}
        for cell in cells:
            if cell.name in seen:
                raise self.fail(cell.line, f"duplicate cell name {cell.name!r} (first at line "
                                f"{seen[cell.name].line}); give one of them another name")
            seen[cell.name] = cell
        if not cells:
            raise self.fail(1, "no cells; add a [[cell]] or [[product]] table")
        return Matrix(cells, self.path)

    def _tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        tables = data.get(key, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise self.fail(self.source.top_key(key), f"{key!r} must be an array of tables ([[{key}]])")
        return tables

    def cell(self, table: dict[str, Any], index: int) -> CellSpec:
        span = self.source.table("cell", index)
        label = f"cell #{index + 1}"
        if isinstance(table.get("name"), str):
            label = f"cell {table['name']!r}"
        self._check_keys(table, CELL_KEYS, span, label)
        pins = {pkg: self._pin(table, pkg, span, label) for pkg in STACK if pkg in table}
        name = table.get("name")
        if name is not None and (not isinstance(name, str) or not _NAME_OK.match(name)):
            raise self.fail(self.source.key(span, "name"), f"bad cell name {name!r} in {label}; "
                            "use letters, digits and . _ + - (it becomes a nox session id)")
        return self._make(name, pins, table, span, label, "cell", index)

    def product(self, table: dict[str, Any], index: int) -> list[CellSpec]:
        span = self.source.table("product", index)
        label = f"product #{index + 1}"
        self._check_keys(table, PRODUCT_KEYS, span, label)
        axes: dict[str, list[str]] = {}
        for pkg in STACK:
            if pkg in table:
                values = table[pkg] if isinstance(table[pkg], list) else [table[pkg]]
                axes[pkg] = [self._pin({pkg: v}, pkg, span, label) for v in values]
        if "transformers" not in axes:
            raise self.fail(span[0], f"{label} needs a transformers list")
        excludes = table.get("exclude", [])
        if not isinstance(excludes, list) or not all(isinstance(e, dict) for e in excludes):
            raise self.fail(self.source.key(span, "exclude"), f"exclude in {label} must be a list of tables")
        rules = []
        exclude_span = (self.source.key(span, "exclude"), span[1])
        for rule in excludes:
            for key in rule:
                if key not in STACK:
                    raise self.fail(self.source.key(exclude_span, key, inline=True), f"unknown key {key!r} in an "
                                    f"exclude of {label}; known keys: {', '.join(STACK)}")
            rules.append({k: self._pin(rule, k, exclude_span, label) for k in rule})
        cells = []
        for combo in itertools.product(*axes.values()):
            pins = dict(zip(axes, combo))
            if any(all(pins.get(k) == v for k, v in rule.items()) for rule in rules):
                continue
            cells.append(self._make(None, pins, table, span, label, "product", index))
        return cells

    def _make(self, name: str | None, pins: dict[str, str], table: dict[str, Any], span: tuple[int, int],
              label: str, kind: str, index: int) -> CellSpec:
        if "transformers" not in pins:
            raise self.fail(span[0], f"{label} does not say which transformers to install; add transformers = ...")
        extras = table.get("extras", [])
        if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
            raise self.fail(self.source.key(span, "extras"), f"extras in {label} must be a list of requirement strings")
        requirements = [f"{pkg}{spec}" for pkg, spec in pins.items()] + list(extras)
        name = name or cell_id({pkg: version_label(spec) for pkg, spec in pins.items()})
        expects = table.get("expect", [])
        if not isinstance(expects, list) or not all(isinstance(e, dict) for e in expects):
            raise self.fail(self.source.key(span, "expect"), f"expect in {label} must be [[{kind}.expect]] tables")
        expect = [self.expectation(e, self.source.table(f"{kind}.expect", i, within=span, default=span), label)
                  for i, e in enumerate(expects)]
        line = self.source.key(span, "name") if "name" in table else span[0]
        torch = pins.get("torch")
        user = {**self.defaults, **self.user_settings(table, span, label)}
        return CellSpec(name, requirements, torch if torch is None else (torch or NEWEST), expect, pins, line,
                        model=user.get("model"), run=list(user.get("run", [])),
                        run_in=str(Path(self.path).resolve().parent) if user.get("run") else None)

    def user_settings(self, table: dict[str, Any], span: tuple[int, int] | None, label: str) -> dict[str, Any]:
        """``model`` (an existing folder, relative to the matrix file) and ``run`` (commands) as set here."""
        def line(key: str) -> int:
            return self.source.top_key(key) if span is None else self.source.key(span, key)

        out: dict[str, Any] = {}
        if "model" in table:
            model = table["model"]
            if not isinstance(model, str) or not model.strip():
                raise self.fail(line("model"), f"model in {label} must be a checkpoint folder's path, got {model!r}")
            folder = Path(model) if Path(model).is_absolute() else Path(self.path).parent / model
            if not folder.is_dir():
                raise self.fail(line("model"), f"model {model!r} in {label}: no such folder ({folder}); give the "
                                "folder a checkpoint was saved to (config.json, tokenizer and processor files)")
            out["model"] = str(folder)
        if "run" in table:
            run = table["run"]
            if isinstance(run, str):
                run = [run]
            if not isinstance(run, list) or not run or not all(isinstance(c, str) and c.strip() for c in run):
                raise self.fail(line("run"), f"run in {label} must be a list of commands (run = [\"pytest -x\"]), "
                                f"got {table['run']!r}")
            out["run"] = run
        return out

    def expectation(self, table: dict[str, Any], span: tuple[int, int], label: str) -> Expectation:
        self._check_keys(table, EXPECT_KEYS, span, f"an expectation of {label}")
        for key in ("probe", "status", "reason"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise self.fail(span[0], f"an expectation of {label} needs {key} = \"...\"")
        choices = {"status": [s.value for s in Status], "mode": ["*", *(m.value for m in Mode)]}
        for key, allowed in choices.items():
            if key in table and table[key] not in allowed:
                raise self.fail(self.source.key(span, key), f"bad {key} {table[key]!r} in an expectation of "
                                f"{label}; use one of: {', '.join(allowed)}")
        issue = table.get("issue")
        if issue is not None and issue not in known_issues.IDS:
            raise self.fail(self.source.key(span, "issue"), f"unknown issue {issue!r} in an expectation of "
                            f"{label}; known: {', '.join(known_issues.IDS)}")
        return Expectation(**{k: table[k] for k in EXPECT_KEYS if k in table})

    def _check_keys(self, table: dict[str, Any], known: tuple[str, ...], span: tuple[int, int], label: str) -> None:
        for key in table:
            if key not in known:
                raise self.fail(self.source.key(span, key), f"unknown key {key!r} in {label}; "
                                f"known keys: {', '.join(known)}")

    def _pin(self, table: dict[str, Any], pkg: str, span: tuple[int, int], label: str) -> str:
        value = table[pkg]
        line = self.source.key(span, pkg, inline=True)
        if not isinstance(value, str):
            raise self.fail(line, f"{pkg} in {label} must be a string, got {value!r}")
        value = value.strip()
        if value == NEWEST:
            return ""
        try:
            if value[:1].isdigit():
                return f"=={Version(value)}" if "*" not in value else str(SpecifierSet(f"=={value}"))
            return str(SpecifierSet(value))
        except (InvalidVersion, InvalidSpecifier):
            raise self.fail(line, f"bad specifier {value!r} for {pkg} in {label}; use a version (4.44.0), "
                            "a specifier (>=4.53,<4.54) or \"newest\"") from None

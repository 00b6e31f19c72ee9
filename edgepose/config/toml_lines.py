"""Find the line of each key in a TOML text, so config errors can name file:line.

`tomllib` gives values but no positions, so this small scanner follows table headers
(`[a.b]`, `[[a]]`), dotted and quoted keys, and skips multi-line strings and arrays. It is
approximate by design: a key it cannot place falls back to its table's header line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

KeyPath = tuple[str | int, ...]

_BARE_OR_QUOTED = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")


def parse_key(text: str) -> tuple[str, ...] | None:
    """Split a (possibly dotted, possibly quoted) TOML key into its parts; None if it is not a key."""
    parts: list[str] = []
    pos = 0
    while True:
        match = _BARE_OR_QUOTED.match(text, pos)
        if match is None or match.end() == pos:
            return None
        parts.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
        if pos == len(text):
            return tuple(parts)
        if text[pos] != ".":
            return None
        pos += 1


def _unquoted(line: str) -> Iterator[tuple[int, str]]:
    """(index, character) of each character outside quoted strings: the scanning all three helpers share.

    Basic strings ("...") honour backslash escapes; literal strings ('...') have none.
    """
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(line):
        if quote is None:
            if ch in "\"'":
                quote = ch
            else:
                yield i, ch
        elif escaped:
            escaped = False
        elif ch == "\\" and quote == '"':
            escaped = True
        elif ch == quote:
            quote = None


def _strip_comment(line: str) -> str:
    """The line without a trailing comment, leaving `#` inside strings alone."""
    return next((line[:i] for i, ch in _unquoted(line) if ch == "#"), line)


def _split_assignment(line: str) -> tuple[str, str] | None:
    """(key text, value text) of `key = value`, the `=` found outside quotes."""
    return next(((line[:i], line[i + 1 :]) for i, ch in _unquoted(line) if ch == "="), None)


def _bracket_balance(value: str) -> int:
    """Open minus closed brackets/braces outside strings (multi-line arrays continue while > 0)."""
    return sum((ch in "[{") - (ch in "]}") for _, ch in _unquoted(value))


def _opens_multiline_string(value: str) -> str | None:
    """The delimiter of a multi-line string that starts on this line and does not end on it."""
    for delim in ('"""', "'''"):
        start = value.find(delim)
        if start >= 0 and value.find(delim, start + 3) < 0:
            return delim
    return None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map every key path (tables, array-of-table indices, keys) to its 1-based line number."""
    lines: dict[KeyPath, int] = {}
    aot_index: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    in_string: str | None = None
    depth = 0

    def resolve(name: tuple[str, ...]) -> KeyPath:
        # Arrays of tables above this header contribute their current element index.
        out: list[str | int] = []
        for i, part in enumerate(name):
            out.append(part)
            prefix = name[: i + 1]
            if prefix in aot_index and i < len(name) - 1:
                out.append(aot_index[prefix])
        return tuple(out)

    for lineno, raw in enumerate(text.splitlines(), 1):
        if in_string:
            if in_string in raw:
                in_string = None
            continue
        line = _strip_comment(raw).strip()
        if depth > 0:
            depth += _bracket_balance(line)
            continue
        if not line:
            continue
        if line.startswith("[["):
            end = line.find("]]")
            name = parse_key(line[2:end]) if end > 0 else None
            if name is None:
                continue
            aot_index[name] = aot_index.get(name, -1) + 1
            base = resolve(name)
            lines.setdefault(base, lineno)
            table = (*base, aot_index[name])
            lines[table] = lineno
            continue
        if line.startswith("["):
            end = line.find("]")
            name = parse_key(line[1:end]) if end > 0 else None
            if name is None:
                continue
            table = resolve(name)
            lines.setdefault(table, lineno)
            continue
        assignment = _split_assignment(line)
        if assignment is None:
            continue
        key = parse_key(assignment[0])
        if key is None:
            continue
        for i in range(1, len(key) + 1):
            lines.setdefault((*table, *key[:i]), lineno)
        value = assignment[1]
        in_string = _opens_multiline_string(value)
        depth = max(0, _bracket_balance(value)) if in_string is None else 0
    return lines


def line_of(lines: dict[KeyPath, int], path: Sequence[str | int]) -> int | None:
    """The line of the longest prefix of `path` that appears in the text (None if none does)."""
    for n in range(len(path), 0, -1):
        found = lines.get(tuple(path[:n]))
        if found is not None:
            return found
    return None

"""The stores' SQL, written for SQLite, as PostgreSQL runs it.

The stores keep one text per query: ``?`` or ``:name`` placeholders and a few SQLite idioms.
This module rewrites a query once (the engine caches the result) into PostgreSQL's form. It is
pure text work, no I/O, so it is tested with plain strings (tests/unit/test_sql_dialect.py).

What is rewritten, and why it is safe to do by pattern:
- placeholders ``?`` / ``:name`` -> ``$n``, outside string literals and quoted identifiers;
- ``INSERT OR IGNORE`` -> ``INSERT ... ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE INTO t (cols)`` -> an upsert on ``t``'s primary key (the engine knows
  every table's key from the catalog), updating the other columns;
- ``instr`` -> ``strpos``; scalar ``MAX(a, b)`` / ``MIN(a, b)`` -> ``GREATEST`` / ``LEAST``;
  ``LIKE`` -> ``ILIKE`` (SQLite's LIKE ignores ASCII case); ``LIMIT -1`` -> ``LIMIT ALL``;
  ``CAST(x AS INTEGER)`` -> ``BIGINT``; ``rowid`` -> ``ctid``;
- ``json_extract`` / ``json_type`` with a literal ``$.a."b.c"`` path keep their SQLite meaning
  through functions of the same names the engine installs (homeserver/storage/postgres.py),
  given the path as a text array;
- in DDL (migrations): INTEGER -> BIGINT (SQLite integers are 64-bit), AUTOINCREMENT keys ->
  identity columns, BLOB -> BYTEA, REAL -> DOUBLE PRECISION.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# A string literal, a quoted identifier, or any one character: scanning token by token keeps
# rewrites out of literals ('?' inside a string is not a placeholder).
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|:[A-Za-z_][A-Za-z0-9_]*|\?|.", re.S)
_WORDS = [
    (re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.I), "INSERT INTO"),
    (re.compile(r"\bNOT\s+LIKE\b", re.I), "NOT ILIKE"),
    (re.compile(r"(?<!NOT )\bLIKE\b", re.I), "ILIKE"),
    (re.compile(r"\bAS\s+INTEGER\s*\)", re.I), "AS BIGINT)"),
    (re.compile(r"\browid\b", re.I), "ctid"),
    (re.compile(r"\binstr\(", re.I), "strpos("),
    (re.compile(r"\bLIMIT\s+-1\b", re.I), "LIMIT ALL"),  # SQLite's "no limit" before OFFSET
]
# MAX(a, b) with two plain operands (no nested parentheses): SQLite's scalar form.
_SCALAR_MINMAX = re.compile(r"\b(MAX|MIN)\(\s*([^(),]+?)\s*,\s*([^(),]+?)\s*\)", re.I)
_JSON_FN = re.compile(r"\b(json_extract|json_type)\(\s*([^,()]+(?:\([^()]*\))?)\s*,"
                      r"\s*'(\$[^']*)'\s*\)", re.I)
_GLOB = re.compile(r"\b(NOT\s+)?GLOB\s+'([^']*)'", re.I)
_PATH_PART = re.compile(r'\.(?:"([^"]*)"|([A-Za-z0-9_]+))')
_INSERT_OR_REPLACE = re.compile(
    r"^\s*INSERT\s+OR\s+REPLACE\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)", re.I)
_ON_CONFLICT = re.compile(r"\bON\s+CONFLICT\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


class DialectError(ValueError):
    """A query this translator cannot carry over (a bug in a store, found by the tests)."""


def json_path(path: str) -> str:
    """``$.content."org.x"`` -> ``ARRAY['content','org.x']``."""
    if not path.startswith("$"):
        raise DialectError(f"json path {path!r} does not start with $")
    parts, pos = [], 1
    for m in _PATH_PART.finditer(path, 1):
        if m.start() != pos:
            raise DialectError(f"json path {path!r} is not a plain member path")
        parts.append(m.group(1) if m.group(1) is not None else m.group(2))
        pos = m.end()
    if pos != len(path):
        raise DialectError(f"json path {path!r} is not a plain member path")
    quoted = ",".join("'" + p.replace("'", "''") + "'" for p in parts)
    return f"ARRAY[{quoted}]::text[]"


def glob_regex(glob: str) -> str:
    """SQLite's GLOB pattern (case-sensitive; ``*``, ``?``, ``[...]`` with ``^`` negating)
    as an anchored POSIX regular expression."""
    out, i = ["^"], 0
    while i < len(glob):
        ch = glob[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in glob[i + 2:] + glob[i + 1:i + 2]:
            end = glob.index("]", i + 2 if glob[i + 1:i + 2] in ("]", "^") else i + 1)
            body = glob[i + 1:end]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch) if not ch.isalnum() else ch)
        i += 1
    out.append("$")
    return "".join(out).replace("'", "''")


def _rewrite_code(code: str) -> str:
    """Rewrites for the parts of a query outside literals."""
    for pattern, repl in _WORDS:
        code = pattern.sub(repl, code)

    def minmax(m: re.Match) -> str:
        fn = "GREATEST" if m.group(1).upper() == "MAX" else "LEAST"
        return f"{fn}({m.group(2)}, {m.group(3)})"

    return _SCALAR_MINMAX.sub(minmax, code)


def translate(sql: str, primary_keys: Mapping[str, Sequence[str]] | None = None,
              ) -> tuple[str, list[str] | None]:
    """The PostgreSQL text of ``sql`` and, for ``:name`` placeholders, the names in ``$n``
    order (None when the query uses ``?``)."""
    # json functions and GLOB carry a literal: rewrite them before literals are protected.
    sql = _GLOB.sub(lambda m: f"{'!~' if m.group(1) else '~'} '{glob_regex(m.group(2))}'", sql)
    sql = _JSON_FN.sub(lambda m: f"{m.group(1).lower()}({m.group(2)}, {json_path(m.group(3))})",
                       sql)
    out: list[str] = []
    code: list[str] = []  # pending non-literal text, rewritten as one piece
    names: list[str] = []
    positional = 0

    def flush() -> None:
        if code:
            out.append(_rewrite_code("".join(code)))
            code.clear()

    for tok in _TOKENS.findall(sql):
        if tok == "?":
            positional += 1
            code.append(f"${positional}")
        elif tok.startswith(":") and len(tok) > 1 and not (code and code[-1] == ":"):
            name = tok[1:]
            if name not in names:
                names.append(name)
            code.append(f"${names.index(name) + 1}")
        elif tok[0] in "'\"" and len(tok) > 1:
            flush()
            out.append(tok)
        else:
            code.append(tok)
    flush()
    if positional and names:
        raise DialectError("a query mixes ? and :name placeholders")
    text = "".join(out)
    upper = sql.lstrip().upper()
    if re.match(r"INSERT\s+OR\s+IGNORE\b", upper):
        text = _append_conflict(text, "ON CONFLICT DO NOTHING")
    elif re.match(r"INSERT\s+OR\s+REPLACE\b", upper):
        text = _upsert(text, primary_keys or {})
    return text, (names if names else None)


def _verb_length(text: str) -> int:
    verb = re.match(r"\s*INSERT\s+OR\s+REPLACE\s+INTO", text, re.I)
    assert verb is not None
    return verb.end()


def _append_conflict(text: str, clause: str) -> str:
    if _ON_CONFLICT.search(text):
        return text
    m = _RETURNING.search(text)
    if m:
        return f"{text[:m.start()]}{clause} {text[m.start():]}"
    return f"{text.rstrip().rstrip(';')} {clause}"


def _upsert(text: str, primary_keys: Mapping[str, Sequence[str]]) -> str:
    m = _INSERT_OR_REPLACE.match(text)
    if not m:
        raise DialectError("INSERT OR REPLACE needs an explicit column list")
    table = m.group(1)
    cols = [c.strip() for c in m.group(2).split(",")]
    key = primary_keys.get(table)
    if not key:
        raise DialectError(f"INSERT OR REPLACE into {table}: no primary key known")
    rest = [c for c in cols if c not in key]
    text = "INSERT INTO" + text[m.end(0) - len(m.group(0)) + _verb_length(text):]
    if rest:
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
        clause = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    else:
        clause = f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    return _append_conflict(text, clause)


# DDL ----------------------------------------------------------------------------------------

_DDL = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
]


def translate_ddl(stmt: str) -> str:
    """A migration statement's PostgreSQL form (types; the rest as for queries)."""
    if re.match(r"\s*(CREATE|ALTER)\s+TABLE\b", stmt, re.I):
        joined: list[str] = []
        buf: list[str] = []
        for tok in _TOKENS.findall(stmt):
            if tok[0] in "'\"" and len(tok) > 1:
                joined.append(_ddl_code("".join(buf)))
                buf.clear()
                joined.append(tok)
            else:
                buf.append(tok)
        joined.append(_ddl_code("".join(buf)))
        stmt = "".join(joined)
        return stmt
    return translate(stmt)[0]


def _ddl_code(code: str) -> str:
    for pattern, repl in _DDL:
        code = pattern.sub(repl, code)
    return code


def named_args(params: Mapping[str, object], names: list[str]) -> list[object]:
    try:
        return [params[n] for n in names]
    except KeyError as e:
        raise DialectError(f"no value for placeholder :{e.args[0]}") from None

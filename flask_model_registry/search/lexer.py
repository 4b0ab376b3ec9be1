"""Tokenizer of MLflow search filters and order-by clauses.

Every token carries the 0-based offset at which it starts in the source text, so that the
parser can point at the offending character in its error messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_model_registry.errors import InvalidParameter

__all__ = ["KEYWORDS", "Token", "TokenKind", "tokenize"]


class TokenKind(enum.Enum):
    """What a token is."""

    IDENT = "identifier"  #: ``name``, ``metrics.acc``, ``tags.`a b```, ``"run name"``.
    STRING = "string"  #: ``'x'`` or ``"x"`` (a double-quoted word is also an identifier).
    NUMBER = "number"  #: ``1``, ``-2.5``, ``1e-3``, ``.5``.
    OP = "comparator"  #: ``= != <> < <= > >=``.
    KEYWORD = "keyword"  #: ``AND OR NOT LIKE ILIKE IN IS NULL`` (upper-cased).
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    EOF = "end of input"


#: Bare words the lexer turns into :attr:`TokenKind.KEYWORD` (compared case-insensitively).
KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL"})

_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")


def _is_word(ch: str) -> bool:
    """Whether ``ch`` may appear in a bare identifier segment (letters, digits, ``_``)."""
    return ch.isalnum() or ch == "_"


_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Token:
    """One lexical token.

    ``text`` is the exact source text. ``value`` is the decoded value: the upper-cased keyword,
    the comparator, the unescaped string, the ``int``/``float`` of a number, or for an
    identifier its dotted source text. ``parts`` holds an identifier's segments with quotes
    removed (``metrics.`my key``` gives ``("metrics", "my key")``). ``quote`` is the quote
    character of a string (``'`` or ``"``).
    """

    kind: TokenKind
    text: str
    pos: int
    value: str | int | float | None = None
    parts: tuple[str, ...] = ()
    quote: str = ""

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.pos + len(self.text)


def _fail(source: str, what: str, message: str, pos: int, hint: str = "") -> InvalidParameter:
    suffix = f"; {hint}" if hint else ""
    return InvalidParameter(f"Invalid {what} '{source}': {message} at position {pos}{suffix}")


class _Lexer:
    def __init__(self, source: str, what: str) -> None:
        self.src = source
        self.what = what
        self.i = 0

    def error(self, message: str, pos: int, hint: str = "") -> InvalidParameter:
        return _fail(self.src, self.what, message, pos, hint)

    def run(self) -> list[Token]:
        tokens: list[Token] = []
        src = self.src
        while True:
            while self.i < len(src) and src[self.i].isspace():
                self.i += 1
            if self.i >= len(src):
                tokens.append(Token(TokenKind.EOF, "", len(src)))
                return tokens
            tokens.append(self.next_token())

    def next_token(self) -> Token:
        src, start = self.src, self.i
        ch = src[start]
        if ch == "(":
            self.i += 1
            return Token(TokenKind.LPAREN, ch, start)
        if ch == ")":
            self.i += 1
            return Token(TokenKind.RPAREN, ch, start)
        if ch == ",":
            self.i += 1
            return Token(TokenKind.COMMA, ch, start)
        for op in _OPERATORS:
            if src.startswith(op, start):
                self.i += len(op)
                return Token(TokenKind.OP, op, start, value=op)
        if self.starts_number(start):
            return self.number()
        if ch == "'":
            value = self.quoted("'")
            return Token(TokenKind.STRING, src[start : self.i], start, value=value, quote="'")
        if ch == '"':
            value = self.quoted('"')
            if self.continues_path():
                return self.identifier(start, [value])
            return Token(TokenKind.STRING, src[start : self.i], start, value=value, quote='"')
        if ch == "`" or _is_word(ch):
            return self.identifier(start, [])
        raise self.error(f"unexpected {ch!r}", start)

    def starts_number(self, i: int) -> bool:
        src = self.src
        if i < len(src) and src[i] == "-":
            i += 1
        if i < len(src) and src[i] in _DIGITS:
            return True
        return i + 1 < len(src) and src[i] == "." and src[i + 1] in _DIGITS

    def number(self) -> Token:
        src, start = self.src, self.i
        i = start + 1 if src[start] == "-" else start
        while i < len(src) and src[i] in _DIGITS:
            i += 1
        is_float = False
        if i < len(src) and src[i] == ".":
            is_float = True
            i += 1
            while i < len(src) and src[i] in _DIGITS:
                i += 1
        if i < len(src) and src[i] in "eE":
            j = i + 1
            if j < len(src) and src[j] in "+-":
                j += 1
            if j < len(src) and src[j] in _DIGITS:
                is_float = True
                i = j
                while i < len(src) and src[i] in _DIGITS:
                    i += 1
        if i < len(src) and (_is_word(src[i]) or src[i] in ".`\"'"):
            raise self.error(f"unexpected {src[i]!r}", i, "a number must stand alone")
        text = src[start:i]
        self.i = i
        value: int | float = float(text) if is_float else int(text)
        return Token(TokenKind.NUMBER, text, start, value=value)

    def quoted(self, quote: str) -> str:
        """Read a string or quoted identifier; ``\\<quote>``, doubled quotes and ``\\\\``
        stand for the character itself, any other backslash is kept as written."""
        src, start = self.src, self.i
        i = start + 1
        out: list[str] = []
        while i < len(src):
            ch = src[i]
            if ch == "\\" and i + 1 < len(src) and src[i + 1] in (quote, "\\"):
                out.append(src[i + 1])
                i += 2
                continue
            if ch == quote:
                if i + 1 < len(src) and src[i + 1] == quote:
                    out.append(quote)
                    i += 2
                    continue
                self.i = i + 1
                return "".join(out)
            out.append(ch)
            i += 1
        kind = "quoted identifier" if quote == "`" else "string"
        raise self.error(f"unterminated {kind}", start)

    def continues_path(self) -> bool:
        """Whether a ``.`` followed by another identifier segment comes next."""
        src, i = self.src, self.i
        return i + 1 < len(src) and src[i] == "." and (_is_word(src[i + 1]) or src[i + 1] in '`"')

    def identifier(self, start: int, parts: list[str]) -> Token:
        src = self.src
        quoted_any = bool(parts)
        if not parts:
            parts.append(self.segment())
            quoted_any = src[start] == "`"
        while self.continues_path():
            self.i += 1
            if src[self.i] in '`"':
                quoted_any = True
            parts.append(self.segment())
        if self.i < len(src) and (src[self.i] in "`\"'" or src[self.i] == "."):
            raise self.error(
                f"unexpected {src[self.i]!r}", self.i, "malformed identifier or missing whitespace"
            )
        text = src[start : self.i]
        if len(parts) == 1 and not quoted_any and parts[0].upper() in KEYWORDS:
            return Token(TokenKind.KEYWORD, text, start, value=parts[0].upper())
        return Token(TokenKind.IDENT, text, start, value=text, parts=tuple(parts))

    def segment(self) -> str:
        src, start = self.src, self.i
        ch = src[start]
        if ch in '`"':
            value = self.quoted(ch)
            if not value:
                raise self.error("empty quoted identifier", start)
            return value
        i = start
        while i < len(src) and _is_word(src[i]):
            i += 1
        self.i = i
        return src[start:i]


def tokenize(source: str, what: str = "filter") -> list[Token]:
    """Split ``source`` into tokens, ending with an :attr:`TokenKind.EOF` token.

    ``what`` names the source in error messages (``"filter"``, ``"order_by clause"``).
    Raises :class:`InvalidParameter` on characters that cannot start a token and on
    unterminated strings.
    """
    return _Lexer(source, what).run()

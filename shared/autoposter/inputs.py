"""What a user hands over, checked at the edge before any video work: links, texts, metadata,
feedback files. Each failure is a typed ``SettingsError`` with the limit it broke; the CLI and
the extraction function use the same checks, so the same input fails the same way in both."""
from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

from .errors import SettingsError

LIMITS = {"title": 300, "tagline": 200, "search_text": 300, "meta_value": 300, "link": 2048, "meta_keys": 20,
          "feedback_bytes": 1 << 20, "feedback_entries": 10_000, "json_depth": 16}
LINKISH = re.compile(r"(^|_)(link|url|href)$", re.I)    # meta values a template may use as a link
META_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
# bidi embeddings, overrides and isolates, and the marks: they reorder or hide text
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


MAX_MARKS = 8                     # combining marks on one character (Vietnamese uses 2, Tibetan stacks ~4)


def read_regular(path: str | os.PathLike, limit: int, what: str, code: str, error=SettingsError,
                 large_code: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else a typed error. Opened without blocking
    and checked with ``fstat`` on the open descriptor, so a FIFO never hangs, ``/dev/zero`` is never read
    until memory runs out, and a file swapped between check and read is still the one checked; the read
    itself stops at ``limit`` + 1 bytes whatever ``st_size`` claimed."""
    name = os.fsdecode(path).encode("utf-8", "backslashreplace").decode()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"{what} {name}: cannot read ({exc.strerror})", code=code) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{what} {name} is not a regular file (a folder, device or pipe)", code=code)
        chunks, total = [], 0
        while total <= limit:
            b = os.read(fd, min(1 << 20, limit + 1 - total))
            if not b:
                break
            chunks.append(b)
            total += len(b)
    except OSError as exc:
        raise error(f"{what} {name}: cannot read ({exc.strerror})", code=code) from None
    finally:
        os.close(fd)
    if total > limit:
        raise error(f"{what} {name} is over {limit:,} bytes (the limit)", code=large_code or code)
    return b"".join(chunks)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json(text: str):
    """``json.loads`` that refuses NaN and ±Infinity (Python's parser accepts them; every consumer
    downstream would then meet a NaN) — ``ValueError`` like any other malformed document."""
    return json.loads(text, parse_constant=_no_constant)


def text_problem(text: str) -> str | None:
    """What makes ``text`` unfit to draw, or None: bytes that were not UTF-8 (lone surrogates), no visible
    character at all (only zero-width or format characters, or only combining marks), or a pile of
    combining marks on one character (drawn far outside the box the layout measured)."""
    if any(unicodedata.category(c) == "Cs" for c in text):
        return "holds bytes that are not UTF-8 text"
    if text and not any(unicodedata.category(c)[0] in "LNPS" for c in text):
        return "has no visible character (only spaces, zero-width, format characters or marks)"
    run = 0
    for c in text:
        run = run + 1 if unicodedata.category(c) in ("Mn", "Me", "Mc") else 0
        if run > MAX_MARKS:
            return f"stacks more than {MAX_MARKS} combining marks on one character"
    return None


def check_link(link: str, what: str = "--link") -> str:
    """Only absolute http(s) links (``Settings::Link``): a poster links to a video, never to script."""
    if not link:
        return ""
    if len(link) > LIMITS["link"] or any(c.isspace() or unicodedata.category(c) in ("Cc", "Cs") for c in link):
        raise SettingsError(f"{what} is not a link (too long, or it holds spaces, control characters or bytes "
                            "that are not UTF-8)", code="Settings::Link")
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{what}={link[:80]!r}: only absolute http:// or https:// links are accepted",
                            code="Settings::Link")
    return link


def clean_text(text: str) -> str:
    """Control characters and bidi overrides stripped (they reorder or hide the title); joiners kept
    (ZWJ/ZWNJ shape Arabic and Indic text); runs of white space become one space."""
    out = []
    for c in unicodedata.normalize("NFC", text):
        cat = unicodedata.category(c)
        if c in BIDI_CONTROLS or cat == "Cc" and c not in "\t\n" or cat in ("Cs", "Co", "Cn"):
            continue
        out.append(" " if c in "\t\n" else c)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def check_text(name: str, text: str | None, limit: int | None = None) -> str:
    """A user's text cleaned (``clean_text``) and checked: within its limit (``Settings::TextTooLong``),
    and drawable (``Settings::TextInvalid``, see ``text_problem``; checked before cleaning, which would
    silently drop the bytes that were not UTF-8)."""
    problem = text_problem(text or "")
    if problem and (text or "").strip():
        raise SettingsError(f"{name} {problem}", code="Settings::TextInvalid")
    text = clean_text(text or "")
    limit = limit or LIMITS.get(name, LIMITS["meta_value"])
    if len(text) > limit:
        raise SettingsError(f"{name} has {len(text)} characters; the limit is {limit}", code="Settings::TextTooLong")
    return text


def parse_meta(pairs) -> dict:
    out = {}
    for p in pairs or []:
        k, sep, v = p.partition("=")
        if not sep or not META_KEY.match(k.strip()):
            raise SettingsError(f"--meta takes KEY=VALUE with KEY a name like tagline or search_text, got {p[:60]!r}",
                                code="Settings::Invalid")
        key = k.strip()
        out[key] = check_link(v, f"--meta {key}") if LINKISH.search(key) else check_text(key, v)
    if len(out) > LIMITS["meta_keys"]:
        raise SettingsError(f"{len(out)} --meta fields; the limit is {LIMITS['meta_keys']}", code="Settings::Invalid")
    return out


def json_depth(text: str) -> int:
    """Deepest nesting of brackets outside strings (measured before parsing, which recurses)."""
    depth = best = 0
    in_str = esc = False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best


def load_json_file(path: str | Path, what: str, code: str, limit: int, error=SettingsError):
    """A JSON document from a file, within ``limit`` bytes and ``LIMITS['json_depth']`` levels."""
    p = Path(path)
    try:
        text = read_regular(path, limit, what, code, error).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {p.name} is not UTF-8 text", code=code) from None
    if json_depth(text) > LIMITS["json_depth"]:
        raise error(f"{what} {p.name} nests deeper than {LIMITS['json_depth']} levels", code=code)
    try:
        return parse_json(text)
    except (ValueError, RecursionError) as exc:
        raise error(f"{what} {p.name} is not valid JSON ({str(exc).splitlines()[0][:80]})", code=code) from None


FEEDBACK_KEY = re.compile(r"(story|feed|portrait|landscape|cover)@(\d{1,6}(?:\.\d{1,3})?)|(v-[0-9a-f]{10})")


def check_feedback(doc) -> dict:
    """M13 feedback: ``{"<scenario>@<seconds>" or "<variant id>": {"ctr": 0..1, "retention": 0..1}}``
    (``Feedback::Invalid``). Seconds are plain decimals (``feed@1_0`` is no time), and two keys that name
    the same moment (``feed@1``, ``feed@1.00``) are refused rather than merged."""
    def bad(msg):
        raise SettingsError(f"feedback: {msg} (expected {{\"feed@12.0\": {{\"ctr\": 0.08, \"retention\": 0.7}}}} or a "
                            "poster's variant id for a key)", code="Feedback::Invalid")
    if not isinstance(doc, dict):
        bad(f"the document is a {type(doc).__name__}, not an object")
    if len(doc) > LIMITS["feedback_entries"]:
        bad(f"{len(doc)} entries; the limit is {LIMITS['feedback_entries']}")
    out, seen = {}, {}
    for k, v in doc.items():
        m = FEEDBACK_KEY.fullmatch(str(k))
        if not m:
            bad(f"key {json.dumps(str(k)[:40])} is not <scenario>@<seconds> or a variant id")
        if not isinstance(v, dict) or not v or set(v) - {"ctr", "retention"}:
            bad(f"{k}: expected an object with ctr and/or retention")
        for name, x in v.items():
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or not 0 <= x <= 1:
                bad(f"{k}.{name} is {json.dumps(x)[:20]}, not a number in 0..1")
        key = m.group(3) or f"{m.group(1)}@{float(m.group(2)):.1f}"
        if key in seen:
            bad(f"keys {json.dumps(seen[key])} and {json.dumps(str(k))} name the same moment")
        seen[key] = str(k)
        out[key] = dict(v)
    return out

"""What a text message's body may be for Korean carriers: SMS up to 90 bytes, LMS up to 2,000, in EUC-KR.

Why: Korean carriers (and so Solapi and every Korean gateway) count a message in
EUC-KR bytes: a Hangul syllable or a Korean symbol is 2 bytes, ASCII 1. Up to 90
bytes (45 Hangul) it is an SMS; longer, an LMS (long message, priced higher) of
at most 2,000 bytes; anything longer is refused by the provider. A character
EUC-KR cannot carry (an emoji, most Chinese extension characters) is refused
too, or arrives as garbage. So the body is fitted before a provider sees it,
in the worker, for every backend:

* each character EUC-KR cannot carry becomes its compatibility form when that
  can be carried (NFKC: a full-width letter, a ligature), else ``?``;
* the byte count picks the type (``SMS`` or ``LMS``);
* a body over 2,000 bytes is cut at a character boundary (never inside a
  two-byte character) and ends with ``…`` and the link to the page, when it has
  one (the last ``http(s)://`` address in it), so the reader can still open it.

Bytes are counted with CP949, Microsoft's superset of EUC-KR that Korean
carriers and phones take: the same 2 bytes for every Hangul syllable, but all
11,172 syllables rather than EUC-KR's 2,350 (a name like 똠 or 뷁 is 2 bytes,
not an 8-byte jamo sequence, and is never replaced).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ENCODING = "cp949"
SMS_MAX_BYTES = 90
LMS_MAX_BYTES = 2000
SMS, LMS = "SMS", "LMS"
REPLACEMENT = "?"
CUT_MARK = "…"   # 2 bytes in EUC-KR
LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class SMSText:
    """A body as it goes to the provider: its text, its type and its size in EUC-KR bytes."""

    text: str
    type: str       # SMS or LMS
    size: int       # bytes in EUC-KR (CP949)
    replaced: int   # characters EUC-KR cannot carry, replaced
    cut: bool       # shortened to LMS_MAX_BYTES


def euc_kr_bytes(text: str) -> int:
    """Size of ``text`` as Korean carriers count it; raises UnicodeEncodeError for what they cannot carry."""
    return len(text.encode(ENCODING))


def _carried(char: str) -> bool:
    try:
        char.encode(ENCODING)
        return True
    except UnicodeEncodeError:
        return False


def uncarriable(text: str) -> list[str]:
    """The characters of ``text`` EUC-KR cannot carry (in order, each once)."""
    return list(dict.fromkeys(char for char in text if not _carried(char)))


def carriable(text: str) -> tuple[str, int]:
    """``text`` with every character EUC-KR cannot carry replaced; and how many were."""
    out, replaced = [], 0
    for char in text:
        if _carried(char):
            out.append(char)
            continue
        replaced += 1
        compatible = unicodedata.normalize("NFKC", char)
        out.append(compatible if compatible != char and all(map(_carried, compatible)) else REPLACEMENT)
    return "".join(out), replaced


def cut_to(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` that fits ``max_bytes``, cut between characters."""
    size = 0
    for index, char in enumerate(text):
        size += euc_kr_bytes(char)
        if size > max_bytes:
            return text[:index]
    return text


def fit(body: str, max_bytes: int = LMS_MAX_BYTES) -> SMSText:
    """The body a provider can take: carriable characters, SMS or LMS by size, cut to ``max_bytes`` at most."""
    text, replaced = carriable(body)
    size = euc_kr_bytes(text)
    cut = size > max_bytes
    if cut:
        links = LINK.findall(text)
        link = links[-1] if links and euc_kr_bytes(links[-1]) + 4 < max_bytes else ""
        tail = f"{CUT_MARK}\n{link}" if link else CUT_MARK
        head = text
        if link:  # the link goes last, whole; the words before it are shortened
            at = text.rfind(link)
            head = (text[:at] + text[at + len(link):]).rstrip()
        text = cut_to(head, max_bytes - euc_kr_bytes(tail)).rstrip() + tail
        size = euc_kr_bytes(text)
    return SMSText(text=text, type=SMS if size <= SMS_MAX_BYTES else LMS, size=size, replaced=replaced, cut=cut)


def twilio_segments(text: str) -> int:
    """How many parts Twilio bills ``text`` as: GSM-7 fits 160 (153 a part when split), UCS-2 70 (67)."""
    gsm = all(ord(char) < 128 and char not in "`^{}\\[]~|" for char in text)
    whole, part = (160, 153) if gsm else (70, 67)
    units = len(text) if gsm else len(text.encode("utf-16-le")) // 2
    return 1 if units <= whole else -(-units // part)

"""Text from users and the ledger, made safe to show in a terminal or a web page.

A prompt is stored and sent exactly as typed, but it is *shown* in places that
interpret some characters: bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069, the "Trojan Source" characters) reorder what follows them, so a prompt
can display as something other than what was sent; terminal control characters (ESC
sequences, carriage return, backspace, the C1 controls) can rewrite or hide the
terminal's output. :func:`neutralise` replaces each with a visible escape such as
``<U+202E>``, so what a person reads is what the ledger holds, character for character.

Why not refuse them: right-to-left writers use isolates legitimately, and the model
reads the text, not its display; only the display is at risk. A pure leaf: the CLI's
prompt printing and the gallery's cards (:func:`novareel.gallery.cards.escape`) use it.
"""

from __future__ import annotations

import re

__all__ = ["BIDI_CONTROLS", "neutralise"]

#: Embeddings, overrides and their end (U+202A-U+202E), isolates and theirs (U+2066-U+2069).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: What is made visible: the bidi controls, and every C0 control but tab and newline,
#: DEL and the C1 controls (U+0080-U+009F, which include a one-byte CSI).
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def neutralise(text: str) -> str:
    """``text`` with bidi and terminal control characters shown as ``<U+XXXX>``.

    Tabs and newlines are kept; everything else passes unchanged (accents, emoji,
    right-to-left letters themselves), so ordinary prompts are returned as they are.
    """
    return _HIDDEN.sub(_visible, text)

"""Prompt help: the camera vocabulary Nova Reel understands, and gentle warnings.

Two habits cost people paid generations:

* **Negation.** Nova Reel has no negative prompt, and a prompt that says "no
  bananas" puts bananas in the video: the model attends to the words present, not
  to the "no". :func:`prompt_warnings` flags negation words so the user can describe
  what *should* be there instead ("an empty table").
* **Camera wording in the middle.** The model follows camera instructions best at
  the start or the end of the prompt. A camera phrase buried in a middle sentence of
  a longer prompt is flagged.

Warnings never block a request: they are advice, and the user may know better.

Which words count as negation: ``no``, ``not``, ``never``, ``without``, ``none``,
``nobody``, ``nothing``, ``nowhere``, ``neither``, ``nor``, ``no one`` and every
``n't`` contraction (``don't``, ``isn't``...), plus ``cannot``. "Nothing" is included
on purpose: "a desk with nothing on it" names what should be absent exactly like "no
papers" does. Words are matched whole, so "notebook", "knot", "nothingness", "nova"
or "snowy" never match.

Pure functions and constants, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CAMERA_MOVES", "NEGATION_WORDS", "CameraMove", "find_camera_moves", "prompt_warnings"]


@dataclass(frozen=True)
class CameraMove:
    """One camera instruction of the contract's vocabulary.

    ``keywords`` are the phrasings users write (shown by ``novareel camera``);
    ``pattern`` is the regular expression that finds them in a prompt, allowing the
    usual inflections ("pans left", "panning to the left").
    """

    name: str
    keywords: tuple[str, ...]
    example: str
    pattern: str

    def search(self, text: str) -> re.Match[str] | None:
        """The first place this move is mentioned in ``text`` (case-insensitive)."""
        return re.search(self.pattern, text, re.IGNORECASE)


def _side(verb: str, side: str) -> str:
    """``pan(s|ning|ned) (to the) left`` and friends."""
    return rf"\b{verb}(?:s|ning|ing|ned|ed)?\s+(?:to\s+the\s+)?{side}\b"


CAMERA_MOVES: tuple[CameraMove, ...] = (
    CameraMove(
        "aerial shot",
        ("aerial shot", "aerial view", "drone shot", "FPV drone shot"),
        "Aerial shot of a winding river through autumn forest at sunrise.",
        r"\b(?:aerial\s+(?:shot|view)|drone\s+(?:shot|footage|view)|fpv)\b",
    ),
    CameraMove(
        "arc shot",
        ("arc shot", "orbit shot", "360 shot", "camera orbits"),
        "A potter shaping a clay vase on a wheel. Arc shot.",
        r"\b(?:arc\s+shot|orbit(?:s|ing)?(?:\s+shot)?|360(?:-degree|°)?\s+shot)\b",
    ),
    CameraMove(
        "clockwise rotation",
        ("clockwise rotation", "camera rotates clockwise"),
        "Clockwise rotation above a spiral staircase seen from the top.",
        r"(?<!counter)(?<!counter-)(?<!anti)(?<!anti-)\bclockwise\b",
    ),
    CameraMove(
        "counterclockwise rotation",
        ("counterclockwise rotation", "anticlockwise rotation"),
        "Counterclockwise rotation over a bowl of ramen with rising steam.",
        r"\b(?:counter|anti)-?clockwise\b",
    ),
    CameraMove(
        "dolly in",
        ("dolly in", "dolly forward", "camera moves forward", "push in"),
        "Dolly in on an old wooden door in a stone wall.",
        r"\b(?:dolly(?:ing)?\s+(?:in|forward)|push(?:es|ing)?\s+in|camera\s+moves?\s+forward)\b",
    ),
    CameraMove(
        "dolly out",
        ("dolly out", "dolly back", "camera moves backward", "pull out"),
        "A lone tree in a snowy field. Dolly out.",
        r"\b(?:dolly(?:ing)?\s+(?:out|back(?:ward)?)|pull(?:s|ing)?\s+(?:out|back)|"
        r"camera\s+moves?\s+backwards?)\b",
    ),
    CameraMove(
        "pan left",
        ("pan left", "camera pans left"),
        "Pan left across a crowded night market with lanterns.",
        _side("pan", "left"),
    ),
    CameraMove(
        "pan right",
        ("pan right", "camera pans right"),
        "Pan right along a row of colourful beach huts.",
        _side("pan", "right"),
    ),
    CameraMove(
        "whip pan",
        ("whip pan",),
        "Whip pan from a barista to a steaming cup of coffee.",
        r"\bwhip[\s-]+pan(?:s|ning)?\b",
    ),
    CameraMove(
        "pedestal up",
        ("pedestal up", "camera rises"),
        "Pedestal up from the roots to the crown of a giant sequoia.",
        r"\b(?:pedestal(?:s|ing)?\s+up|camera\s+rises)\b",
    ),
    CameraMove(
        "pedestal down",
        ("pedestal down", "camera lowers"),
        "Pedestal down from a clock tower to the busy square below.",
        r"\b(?:pedestal(?:s|ing)?\s+down|camera\s+lowers)\b",
    ),
    CameraMove(
        "static shot",
        ("static shot", "fixed shot", "locked-off shot"),
        "Static shot of rain running down a café window at night.",
        r"\b(?:static|fixed|locked[\s-]off)\s+(?:shot|camera)\b",
    ),
    CameraMove(
        "tilt up",
        ("tilt up", "camera tilts up"),
        "Tilt up from a climber's boots to the summit above.",
        _side("tilt", "up"),
    ),
    CameraMove(
        "tilt down",
        ("tilt down", "camera tilts down"),
        "Tilt down from a starry sky to a campfire in the desert.",
        _side("tilt", "down"),
    ),
    CameraMove(
        "whip tilt",
        ("whip tilt",),
        "Whip tilt from a falling leaf up to a bird taking flight.",
        r"\bwhip[\s-]+tilt(?:s|ing)?\b",
    ),
    CameraMove(
        "track left",
        ("track left", "truck left"),
        "Track left past shelves of glowing jars in an old apothecary.",
        r"\b(?:track|truck)(?:s|ing|ed)?\s+(?:to\s+the\s+)?left\b",
    ),
    CameraMove(
        "track right",
        ("track right", "truck right"),
        "Track right alongside a cyclist on a coastal road.",
        r"\b(?:track|truck)(?:s|ing|ed)?\s+(?:to\s+the\s+)?right\b",
    ),
    CameraMove(
        "zoom in",
        ("zoom in", "camera zooms in"),
        "A chessboard mid-game in a park. Zoom in on the queen.",
        r"(?<!whip )(?<!whip-)\bzoom(?:s|ing|ed)?\s+in\b",
    ),
    CameraMove(
        "zoom out",
        ("zoom out", "camera zooms out"),
        "A single lit window in a city skyline. Zoom out.",
        r"(?<!whip )(?<!whip-)\bzoom(?:s|ing|ed)?\s+out\b",
    ),
    CameraMove(
        "whip zoom",
        ("whip zoom", "crash zoom"),
        "Whip zoom onto a cat's eyes in the dark.",
        r"\b(?:whip|crash)[\s-]+zoom(?:s|ing)?\b",
    ),
    CameraMove(
        "dolly zoom",
        ("dolly zoom", "zolly", "vertigo shot"),
        "Dolly zoom on a detective standing in a long corridor.",
        r"\b(?:dolly[\s-]+zoom|zolly|vertigo\s+(?:shot|effect))\b",
    ),
    CameraMove(
        "following shot",
        ("following shot", "tracking shot", "camera follows"),
        "Following shot of a fox trotting through fresh snow.",
        r"\b(?:following\s+shot|tracking\s+shot|camera\s+follows)\b",
    ),
    CameraMove(
        "slow motion",
        ("slow motion", "slow-mo"),
        "Slow motion of a water balloon bursting in sunlight.",
        r"\b(?:slow[\s-]+motion|slow[\s-]?mo)\b",
    ),
    CameraMove(
        "time-lapse",
        ("time-lapse", "timelapse", "hyperlapse"),
        "Time-lapse of clouds rolling over mountain peaks.",
        r"\b(?:time[\s-]?lapse|hyper[\s-]?lapse)\b",
    ),
)

#: Whole words (case-insensitive) that make the model add what they try to exclude.
NEGATION_WORDS: tuple[str, ...] = (
    "no",
    "not",
    "never",
    "without",
    "none",
    "nobody",
    "nothing",
    "nowhere",
    "neither",
    "nor",
    "no one",
    "cannot",
)

_APOSTROPHE = "['\u2019]"
_NEGATION = re.compile(
    r"\b(?:no[\s-]one|"
    + "|".join(w for w in NEGATION_WORDS if " " not in w)
    + rf"|\w+n{_APOSTROPHE}t)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]*", re.UNICODE)


def find_camera_moves(text: str) -> list[tuple[CameraMove, int, int]]:
    """Every camera move mentioned in ``text`` with its (start, end) offsets, in order."""
    found: list[tuple[CameraMove, int, int]] = []
    for move in CAMERA_MOVES:
        for match in re.finditer(move.pattern, text, re.IGNORECASE):
            found.append((move, match.start(), match.end()))
    found.sort(key=lambda item: item[1])
    return found


def _snippet(text: str, start: int, end: int, width: int = 24) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    prefix = "..." if left > 0 else ""
    suffix = "..." if right < len(text) else ""
    return f"{prefix}{text[left:right].strip()}{suffix}".replace("\n", " ")


def _negation_warnings(text: str) -> list[str]:
    matches = list(_NEGATION.finditer(text))
    if not matches:
        return []
    words = list(dict.fromkeys(m.group(0).lower().replace("\u2019", "'") for m in matches))
    quoted = ", ".join(f'"{w}"' for w in words)
    first = matches[0]
    return [
        f'negation ({quoted}) in the prompt, e.g. "{_snippet(text, first.start(), first.end())}": '
        "Nova Reel tends to show what a negation tries to exclude. Describe what should be "
        'there instead ("an empty table", not "no bananas").'
    ]


def _camera_warnings(text: str) -> list[str]:
    sentences = [
        (m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group(0).strip(" \t.!?;")
    ]
    if len(sentences) < 3:
        return []
    first_end = sentences[0][1]
    last_start = sentences[-1][0]
    warnings: list[str] = []
    seen: set[str] = set()
    for move, start, end in find_camera_moves(text):
        if start >= first_end and end <= last_start and move.name not in seen:
            seen.add(move.name)
            number = next(i for i, (a, b) in enumerate(sentences, start=1) if a <= start < b)
            warnings.append(
                f'camera wording "{text[start:end]}" ({move.name}) is in sentence {number} '
                f"of {len(sentences)}: Nova Reel follows camera instructions best at the "
                "start or the end of the prompt."
            )
    return warnings


#: A prompt whose letters are at least this share outside the Latin script gets the
#: language notice (a few foreign names in an English prompt do not).
_NON_LATIN_SHARE = 0.3


def _language_warnings(text: str) -> list[str]:
    """A notice for a prompt that is mostly not in English letters, or carries emoji.

    AWS's prompting guides for Nova Reel (and Luma's for Ray 2) are written for
    English prompts, and the storyboard schema asks for English; how the models read
    Chinese, Cyrillic or emoji is not documented. The prompt is sent as typed: only the
    user can say whether the translation is theirs to make.
    """
    import unicodedata

    letters = [c for c in text if c.isalpha()]
    foreign = [c for c in letters if not unicodedata.name(c, "").startswith("LATIN")]
    emoji = [c for c in text if ord(c) >= 0x2600 and unicodedata.category(c) == "So"]
    if not emoji and (not letters or len(foreign) / len(letters) < _NON_LATIN_SHARE):
        return []
    mostly_foreign = bool(letters) and len(foreign) / len(letters) >= _NON_LATIN_SHARE
    what = "text mostly not in English letters" if mostly_foreign else "emoji"
    shown = text if len(text) <= 24 else text[:23] + "…"
    return [
        f'the prompt ("{shown}") has {what}: the video models are documented for '
        "English prompts (AWS's prompting guides are written for English), so results "
        "in other languages or with emoji are unpredictable; an English prompt is the "
        "safer bet. Sent as typed."
    ]


def prompt_warnings(text: str) -> list[str]:
    """Advice about a prompt (negations, camera wording mid-prompt, language); never
    blocks.

    An empty list means nothing to say.
    """
    return [*_negation_warnings(text), *_camera_warnings(text), *_language_warnings(text)]

"""'Did you mean ...?' for mistyped commands, choices and options (argparse before Python 3.14 has none)."""
import difflib
import re
from typing import Iterable, List, Optional, Sequence

_CHOICE = re.compile(r"invalid choice: '(?P<word>[^']*)' \(choose from (?P<choices>.*)\)$")
_QUOTED = re.compile(r"'([^']*)'")
_UNRECOGNIZED = "unrecognized arguments: "


def closest(word: str, candidates: Iterable[str]) -> Optional[str]:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def option_strings(parser) -> List[str]:
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--")]


def subparser_for(parser, argv: Sequence[str]):
    """The subcommand's parser named in argv (the first word that is a command), or None."""
    sub = next((a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"), None)
    if sub is None:
        return None
    for word in argv:
        if word == "--":
            return None
        if word in sub.choices:
            return sub.choices[word]
    return None


def with_suggestion(message: str, parser, argv: Sequence[str]) -> str:
    """argparse's error message, with the nearest valid word appended when one is close."""
    m = _CHOICE.search(message)
    if m:
        guess = closest(m.group("word"), _QUOTED.findall(m.group("choices")))
        return f"{message}; did you mean '{guess}'?" if guess else message
    if _UNRECOGNIZED in message:
        words = message.split(_UNRECOGNIZED, 1)[1].split()
        sub = subparser_for(parser, argv)
        options = option_strings(parser) + (option_strings(sub) if sub is not None else [])
        hints = []
        for w in words:
            if w.startswith("--"):
                guess = closest(w.split("=", 1)[0], options)
                if guess:
                    hints.append((w.split("=", 1)[0], guess))
        if len(hints) == 1:
            return f"{message}; did you mean {hints[0][1]}?"
        if hints:
            return f"{message}; did you mean {', '.join(f'{g} for {w}' for w, g in hints)}?"
    return message

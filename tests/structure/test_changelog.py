"""CHANGELOG.md's Unreleased section lists each change once: no two entries
begin with the same 100 characters (session 47 found two pairs, each an entry
and its later, fuller rewrite, both kept by a rebase's merge).

    /usr/bin/python3 -m pytest -q tests/structure/test_changelog.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HEAD = 100


def unreleased_entries(text):
    """The '- ' entries of '## Unreleased' (continuation lines joined)."""
    start = text.index("\n## Unreleased\n")
    end = text.find("\n## ", start + 1)
    entries, cur = [], None
    for line in text[start:end if end >= 0 else len(text)].split("\n"):
        if line.startswith("- "):
            cur = [line[2:]]
            entries.append(cur)
        elif line.startswith("  ") and cur is not None:
            cur.append(line.strip())
        else:
            cur = None
    return [" ".join(" ".join(e).split()) for e in entries]


def duplicate_entries(text):
    seen, dups = {}, []
    for e in unreleased_entries(text):
        if e[:HEAD] in seen:
            dups.append(e[:HEAD])
        seen[e[:HEAD]] = True
    return dups


def _changelog():
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        return f.read()


def test_changelog_unreleased_lists_each_change_once():
    assert duplicate_entries(_changelog()) == []


def test_self_duplicate_check_fails_on_a_copied_entry():
    text = _changelog()
    entries = unreleased_entries(text)
    assert len(entries) > 300
    first = text.index("\n- ", text.index("\n## Unreleased\n"))
    line = text[first + 1:text.index("\n", first + 1)]
    assert duplicate_entries(text.replace(line, line + "\n" + line[:HEAD + 5] + " rewritten", 1))

"""README's tour names every command `knotmap --help` lists (session 42: `report`
was missing from its "Commands:" sentence, though the tour runs it; fails on
80e4cd4)."""
import re

from km_cli import REPO, run_ok


def test_readme_commands_sentence_names_every_command():
    helptext = run_ok("--help").stdout
    block = helptext.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.split()[0] for line in block.splitlines() if line.strip()]
    assert "process" in commands and "report" in commands, commands
    readme = (REPO / "README.md").read_text()
    sentence = re.search(r"^Commands: (.*?)\.\n\n", readme, re.S | re.M)
    assert sentence, "no 'Commands:' sentence in README.md"
    named = re.findall(r"`(\w+)`", sentence.group(1))
    assert sorted(named) == sorted(commands), (named, commands)

"""The error tree: two branches (the user's to fix, the operator's), exit codes from the class, and the tree
drawn at the top of probes/errors.py matching the classes."""

from __future__ import annotations

import importlib
import pkgutil
import re
import warnings

import pytest

import bot
import knowledge
import probes
from probes import errors
from probes.errors import OperatorError, PortbotError, UserError

# Every module of ours is loaded, so every error class exists here whatever else the run imported.
# (discord.py's voice module imports audioop, deprecated: not ours to fix.)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    for _package in (bot, probes, knowledge):
        for _module in pkgutil.walk_packages(_package.__path__, f"{_package.__name__}."):
            if not _module.name.endswith("__main__"):
                importlib.import_module(_module.name)


def subclasses(cls: type[PortbotError]) -> set[type[PortbotError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= subclasses(sub)
    return found


def drawn_tree() -> dict[str, str]:
    """Each class in the docstring's drawing, with the class it hangs from."""
    assert errors.__doc__ is not None
    parents: dict[int, str] = {}
    tree: dict[str, str] = {}
    for line in errors.__doc__.splitlines():
        match = re.match(r"^( *)(?:[│ ]*[├└]── )?([A-Za-z_.]+Error|[A-Z][A-Za-z]+)\b", line)
        if not line.startswith("    ") or match is None:
            continue
        depth = len(line) - len(line.lstrip(" │├└─"))
        name = match.group(2).rsplit(".", 1)[-1]
        parent = max((d for d in parents if d < depth), default=None)
        if parent is not None:
            tree[name] = parents[parent]
        parents = {d: n for d, n in parents.items() if d < depth}
        parents[depth] = name
    return tree


def test_the_drawn_tree_is_the_class_tree() -> None:
    """Every PortbotError subclass in bot/, probes/ and knowledge/ is drawn, under its real parent."""
    ours = [
        c for c in subclasses(PortbotError) if c.__module__.split(".")[0] in ("bot", "probes", "knowledge")
    ]
    actual = {cls.__name__: cls.__mro__[1].__name__ for cls in ours}
    assert drawn_tree() == actual


@pytest.mark.parametrize(
    ("cls", "branch", "exit_code"),
    [
        (errors.InputError, UserError, 2),
        (errors.RefusedTarget, UserError, 2),
        (errors.RateLimited, UserError, 2),
        (errors.ResolveError, UserError, 2),
        (errors.ProbeError, OperatorError, 1),
        (errors.WorkerError, OperatorError, 1),
        (errors.StoreUnavailable, OperatorError, 1),
        (bot.settings.SettingsError, OperatorError, 2),
        (knowledge.errors.DataError, OperatorError, 2),
        (knowledge.errors.UpdateError, OperatorError, 2),
    ],
)
def test_each_error_has_a_branch_and_an_exit_code(
    cls: type[PortbotError], branch: type[PortbotError], exit_code: int
) -> None:
    """Who can fix it and the command line's exit status are properties of the class."""
    assert issubclass(cls, branch)
    assert cls.exit_code == exit_code


def test_a_new_error_inherits_its_branchs_exit_code() -> None:
    """A class added under a branch exits as the branch says, whatever it is called."""

    class ResolveErrorLookalike(OperatorError):
        pass

    assert ResolveErrorLookalike("x").exit_code == 1

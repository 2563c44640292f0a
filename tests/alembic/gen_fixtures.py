#!/usr/bin/env python3
"""Record Alembic's own behaviour on small revision graphs, as JSON fixtures.

Each scenario becomes a throwaway Alembic project (one ``versions/NNNN_<id>.py``
file per revision, named so that Alembic's file-name order is the scenario's
order) run against a fresh PostgreSQL database. Every revision's upgrade and
downgrade only log themselves into ``applied_log``, so the fixture records which
revisions ran, in which order, and what ``alembic_version`` held after each
command. retort's tests replay the same graphs and commands and compare.

Run with the venv that has Alembic and psycopg2:

    /tmp/alembic-venv/bin/python tests/alembic/gen_fixtures.py [scenario ...]

The server comes from DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
each scenario creates and drops its own database. The schema of the output is
described in tests/alembic/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# Alembic orders some steps (merge/unmerge version-table writes) by Python set
# iteration; a fixed hash seed makes the recorded statements reproducible.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

import alembic  # noqa: E402
import alembic.util  # noqa: E402
import psycopg2  # noqa: E402
import sqlalchemy  # noqa: E402
from alembic.config import CommandLine, Config  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = HERE / "fixtures"
FORMAT_VERSION = 1

DUPLICATE_LABEL = re.compile(r"Branch name '(.+)' in revision (\S+) already used by revision (\S+)")

# Commands whose output is captured after every scenario's command sequence, in
# addition to the scenario's own `outputs`.
DEFAULT_OUTPUTS = [
    ["heads"],
    ["heads", "--resolve-dependencies"],
    ["branches"],
    ["history"],
    ["current"],
]


# ---------------------------------------------------------------------------
# Scenario description


@dataclass
class Rev:
    id: str
    down: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    message: str | None = None
    # "up" or "down": that direction's migration raises (division by zero).
    fail_on: str | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "down": self.down,
            "labels": self.labels,
            "depends_on": self.depends_on,
            "message": self.message_text(),
            "fail_on": self.fail_on,
        }

    def message_text(self) -> str:
        return self.message if self.message is not None else f"rev {self.id}"


def R(rev_id, down=None, labels=None, deps=None, message=None, fail_on=None) -> Rev:
    """Shorthand: `down` may be None, one id, or a list (a merge)."""
    if down is None:
        downs = []
    elif isinstance(down, str):
        downs = [down]
    else:
        downs = list(down)
    return Rev(rev_id, downs, list(labels or []), list(deps or []), message, fail_on)


@dataclass
class Scenario:
    name: str
    description: str
    revisions: list[Rev]
    # Each entry is an alembic command line (without `alembic`), run in order.
    commands: list[list[str]] = field(default_factory=list)
    # Read-only command lines captured after all commands ran.
    outputs: list[list[str]] = field(default_factory=list)
    default_outputs: bool = True


def chain(ids: list[str]) -> list[Rev]:
    revs, prev = [], None
    for rev_id in ids:
        revs.append(R(rev_id, prev))
        prev = rev_id
    return revs


def parse_demo_project() -> list[Rev]:
    """The revision graph of the bundled demo project (`migrations/`), from the
    headers of its SQL files, so its fixture follows the demo when it changes."""
    revs = []
    for path in sorted((REPO / "migrations").glob("*.sql")):
        header = {}
        for line in path.read_text().splitlines():
            match = re.match(r"^-- (\w+):\s*(.*)$", line)
            if not match:
                break
            header[match.group(1)] = match.group(2).strip()

        def items(key: str) -> list[str]:
            return [x.strip() for x in header.get(key, "").split(",") if x.strip()]

        revs.append(
            Rev(
                header["revision"],
                items("down_revision"),
                items("branch_labels"),
                items("depends_on"),
                header.get("message", ""),
            )
        )
    return revs


# ---------------------------------------------------------------------------
# The scenarios


def scenarios() -> list[Scenario]:
    s: list[Scenario] = []

    s.append(
        Scenario(
            "linear_basic",
            "A straight chain a..e: heads, head, base, and no-op repeats.",
            chain(["a", "b", "c", "d", "e"]),
            [
                ["current"],
                ["upgrade", "head"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "base"],
                ["downgrade", "base"],
                ["upgrade", "c"],
                ["upgrade", "heads"],
                ["downgrade", "c"],
                ["current"],
            ],
            [["history", "-r", "b:d"], ["history", "-v"], ["heads", "-v"]],
        )
    )

    s.append(
        Scenario(
            "relative_walks",
            "+N, -N, base+N, rev+N, rev-N on a chain, including walks that fall short.",
            chain(["a", "b", "c", "d", "e"]),
            [
                ["upgrade", "+2"],
                ["upgrade", "+1"],
                ["downgrade", "-1"],
                ["upgrade", "c+1"],
                ["downgrade", "d-2"],
                ["upgrade", "base+3"],
                ["upgrade", "+5"],
                ["upgrade", "+3"],
                ["downgrade", "-6"],
                ["downgrade", "-2"],
                ["upgrade", "-1"],
                ["downgrade", "+1"],
                ["upgrade", "e-1"],
                ["upgrade", "e+1"],
                ["downgrade", "a+1"],
                ["downgrade", "a-1"],
                ["downgrade", "a-2"],
                ["upgrade", "base+6"],
                ["upgrade", "base+0"],
                ["downgrade", "-0"],
                ["upgrade", "+0"],
                ["downgrade", "-2"],
                ["downgrade", "base-1"],
                ["upgrade", "heads"],
                ["downgrade", "-5"],
                ["upgrade", "c"],
                ["upgrade", "heads+1"],
                ["upgrade", "head+1"],
                ["downgrade", "head-1"],
                ["downgrade", "heads-1"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "partial_ids",
            "Unique and ambiguous prefixes, 1-3 character prefixes, unknown ids.",
            chain(["aaaa1111", "abcd1111", "abcd2222", "bbbb3333", "c0ffee00", "cafe0000"]),
            [
                ["upgrade", "abcd1"],
                ["upgrade", "abcd"],
                ["upgrade", "a"],
                ["upgrade", "b"],
                ["downgrade", "aaa"],
                ["upgrade", "c0"],
                ["upgrade", "zz"],
                ["upgrade", "zzzz"],
                ["upgrade", "zzzzz"],
                ["downgrade", "abcd2+1"],
                ["downgrade", "abcd1111"],
                ["upgrade", "caf"],
                ["downgrade", "ab"],
                ["downgrade", "c"],
                ["downgrade", "cafe0000"],
                ["upgrade", "AAAA1111"],
                ["downgrade", "base"],
                ["stamp", "abcd2"],
                ["stamp", "abc"],
                ["current"],
            ],
            [
                ["history", "-r", "b:"],
                ["history", "-r", "abcd:"],
                ["history", "-r", "aaa:abcd2"],
                ["history", "-r", "zz:"],
            ],
        )
    )

    s.append(
        Scenario(
            "label_id_prefix",
            "A branch label and a revision id that share a prefix: labels are keys too.",
            [
                R("0a1b2c3d"),
                R("b8e4f0a3", "0a1b2c3d"),
                R("5e8b3d1c", "0a1b2c3d", labels=["billing"]),
                R("bi11ab1e", "5e8b3d1c"),
            ],
            [
                ["upgrade", "b"],
                ["upgrade", "bi"],
                ["upgrade", "bil"],
                ["upgrade", "bill"],
                ["upgrade", "billing"],
                ["upgrade", "b8"],
                ["upgrade", "billing@bi11"],
                ["downgrade", "billing@b"],
                ["downgrade", "billing@base"],
                ["current"],
            ],
            [["history", "-r", "billing:"], ["history", "-r", "bill:"]],
        )
    )

    two_branches = [
        R("r0"),
        R("a1", "r0", labels=["alpha"]),
        R("a2", "a1"),
        R("a3", "a2"),
        R("b1", "r0", labels=["beta"]),
        R("b2", "b1"),
    ]
    s.append(
        Scenario(
            "labels_two_branches",
            "Two labelled branches from one base: label@head, @base, @+N, @-N, @rev.",
            two_branches,
            [
                ["upgrade", "alpha@head"],
                ["upgrade", "beta@+1"],
                ["current"],
                ["upgrade", "beta@head"],
                ["downgrade", "alpha@-1"],
                ["upgrade", "alpha@a3"],
                ["downgrade", "beta@base"],
                ["current"],
                ["upgrade", "beta@b2"],
                ["downgrade", "beta@r0"],
                ["upgrade", "beta@heads"],
                ["downgrade", "alpha@a1"],
                ["downgrade", "beta@a1"],
                ["upgrade", "gamma@head"],
                ["upgrade", "alpha@zz"],
                ["upgrade", "alpha@+5"],
                ["downgrade", "alpha@-3"],
                ["downgrade", "alpha@-2"],
                ["upgrade", "alpha@+1"],
                ["upgrade", "alpha@+1"],
                ["downgrade", "alpha"],
                ["upgrade", "alpha@b2"],
                ["upgrade", "b1@head"],
                ["downgrade", "alpha@base"],
                ["current"],
            ],
            [
                ["history", "-r", "beta@base:beta@head"],
                ["history", "-r", "alpha:"],
                ["history", "-r", ":beta"],
                ["history", "-r", "current:"],
                ["history", "-r", ":current"],
                ["history", "-i"],
                ["branches", "-v"],
            ],
        )
    )

    s.append(
        Scenario(
            "head_with_several_heads",
            "`head` is an error with two heads; `heads` works; `+1` is ambiguous.",
            [R("r0"), R("a1", "r0"), R("b1", "r0")],
            [
                ["upgrade", "head"],
                ["upgrade", "+1"],
                ["upgrade", "+2"],
                ["upgrade", "heads"],
                ["upgrade", "head"],
                ["downgrade", "head"],
                ["downgrade", "-1"],
                ["current"],
                ["upgrade", "heads"],
                ["upgrade", "+1"],
                ["downgrade", "r0"],
                ["current"],
                ["stamp", "head"],
            ],
        )
    )

    s.append(
        Scenario(
            "merge_unmerge",
            "Two branches merged then continued; downgrades that unmerge.",
            [
                R("r0"),
                R("a1", "r0"),
                R("a2", "a1"),
                R("b1", "r0"),
                R("m1", ["a2", "b1"], message="merge a2 and b1"),
                R("n1", "m1"),
            ],
            [
                ["upgrade", "heads"],
                ["downgrade", "-1"],
                ["downgrade", "-1"],
                ["current"],
                ["upgrade", "m1"],
                ["downgrade", "a2"],
                ["downgrade", "a1"],
                ["current"],
                ["upgrade", "m1"],
                ["downgrade", "b1"],
                ["downgrade", "r0"],
                ["upgrade", "a2"],
                ["upgrade", "heads"],
                ["downgrade", "-3"],
                ["downgrade", "base"],
                ["upgrade", "b1"],
                ["upgrade", "+1"],
                ["upgrade", "m1"],
                ["current"],
            ],
            [
                ["history", "-r", "a1:m1"],
                ["history", "-v", "-r", "m1:m1"],
                ["upgrade", "heads", "--sql"],
                ["downgrade", "n1:r0", "--sql"],
                ["downgrade", "m1:a2", "--sql"],
            ],
        )
    )

    s.append(
        Scenario(
            "downgrade_one_branch",
            "`x@rev` downgrades only x's branch, x a label or any revision on it.",
            [
                R("r0"),
                R("r1", "r0"),
                R("a1", "r1", labels=["alpha"]),
                R("a2", "a1"),
                R("b1", "r1", labels=["beta"]),
                R("b2", "b1"),
                R("b3", "b2"),
            ],
            [
                ["upgrade", "heads"],
                ["downgrade", "beta@b1"],
                ["downgrade", "b1@r1"],
                ["upgrade", "heads"],
                ["downgrade", "a2@r1"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "b3@r0"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "r1"],
                ["upgrade", "heads"],
                ["downgrade", "alpha@r0"],
                ["downgrade", "beta@-1"],
                ["downgrade", "b3@-1"],
                ["downgrade", "alpha@base"],
                ["current"],
            ],
        )
    )

    ran_ids = dict(
        a="aaaa1111", b="bbbb2222", c1="cccc1111", c2="cccc2222", d="dddd0000", e="eeee0000"
    )
    ran_example = [
        R(ran_ids["a"], message="a"),
        R(ran_ids["b"], ran_ids["a"], message="b"),
        R(ran_ids["c1"], ran_ids["b"], labels=["lbl1"], message="c1"),
        R(ran_ids["c2"], ran_ids["b"], message="c2"),
        R(ran_ids["d"], [ran_ids["c1"], ran_ids["c2"]], message="merge c"),
        R(ran_ids["e"], None, deps=[ran_ids["c1"]], message="e dep"),
    ]
    s.append(
        Scenario(
            "depends_on_ran_example",
            "The reference's [ran] graph: e is a base that depends on c1.",
            ran_example,
            [
                ["upgrade", "heads"],
                ["current"],
                ["downgrade", "cccc1111"],
                ["current"],
                ["downgrade", "base"],
                ["upgrade", "eeee0000"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "eeee0000@base"],
                ["current"],
                ["downgrade", "bbbb2222"],
                ["upgrade", "lbl1@head"],
                ["upgrade", "head"],
                ["downgrade", "lbl1@bbbb2222"],
                ["current"],
                ["downgrade", "base"],
            ],
            [
                ["history", "-v"],
                ["heads", "-v"],
                ["heads", "-v", "--resolve-dependencies"],
            ],
        )
    )

    s.append(
        Scenario(
            "depends_on_ran_example_plus_f",
            "The [ran] graph with f added on d: the order changes.",
            [*ran_example, R("ffff0000", ran_ids["d"], message="f")],
            [
                ["upgrade", "heads"],
                ["downgrade", "cccc2222"],
                ["current"],
                ["upgrade", "ffff0000"],
                ["downgrade", "base"],
            ],
        )
    )

    s.append(
        Scenario(
            "depends_on_only_head",
            "A base needed only through depends_on: a versioned head, not a real head.",
            [R("x1"), R("a1"), R("a2", "a1", deps=["x1"])],
            [
                ["upgrade", "head"],
                ["upgrade", "a2"],
                ["current"],
                ["downgrade", "x1@base"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "-1"],
                ["current"],
                ["upgrade", "x1"],
                ["downgrade", "base"],
            ],
            [["current", "--check-heads"]],
        )
    )

    s.append(
        Scenario(
            "depends_on_label",
            "depends_on naming a branch label (resolves to the revision carrying it).",
            [
                R("r0"),
                R("b1", "r0", labels=["beta"]),
                R("b2", "b1"),
                R("a1", "r0", labels=["alpha"]),
                R("a2", "a1", deps=["beta"]),
            ],
            [
                ["upgrade", "alpha@head"],
                ["current"],
                ["downgrade", "beta@base"],
                ["upgrade", "heads"],
                ["downgrade", "b1"],
                ["current"],
                ["downgrade", "base"],
            ],
            [["history", "-v"]],
        )
    )

    s.append(
        Scenario(
            "downgrade_dependency_branch",
            "Downgrading a branch that another branch depends on drops the dependents.",
            [
                R("x1", labels=["xbr"]),
                R("x2", "x1"),
                R("y1", labels=["ybr"], deps=["x2"]),
                R("y2", "y1"),
                R("x3", "x2"),
            ],
            [
                ["upgrade", "heads"],
                ["downgrade", "xbr@x1"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "ybr@base"],
                ["current"],
                ["upgrade", "ybr@head"],
                ["downgrade", "x1"],
                ["current"],
                ["upgrade", "y1"],
                ["downgrade", "xbr@base"],
            ],
        )
    )

    s.append(
        Scenario(
            "upgrade_sibling_and_ancestor",
            "Upgrading to a sibling or unrelated revision adds a head; an ancestor is a no-op.",
            [
                R("r0"),
                R("a1", "r0"),
                R("a2", "a1"),
                R("b1", "r0"),
                R("b2", "b1"),
                R("u1"),
                R("u2", "u1"),
            ],
            [
                ["upgrade", "a2"],
                ["upgrade", "b1"],
                ["current"],
                ["upgrade", "a1"],
                ["upgrade", "r0"],
                ["upgrade", "u2"],
                ["current"],
                ["upgrade", "b2"],
                ["upgrade", "u1"],
                ["upgrade", "heads"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "downgrade_errors",
            "Downgrade to a descendant, to an unrelated revision, bare +N; empty downgrades.",
            [R("a"), R("b", "a"), R("c", "b"), R("d", "c"), R("x"), R("y", "x")],
            [
                ["upgrade", "b"],
                ["downgrade", "d"],
                ["downgrade", "c"],
                ["downgrade", "b"],
                ["downgrade", "x"],
                ["downgrade", "y"],
                ["upgrade", "y"],
                ["downgrade", "b"],
                ["downgrade", "+1"],
                ["downgrade", "heads"],
                ["downgrade", "head"],
                ["downgrade", "x@base"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "downgrade_minus_one_several_heads",
            "`downgrade -1` with several current heads: Alembic warns and picks one.",
            [R("r0"), R("a1", "r0"), R("a2", "a1"), R("b1", "r0"), R("b2", "b1")],
            [
                ["upgrade", "a2"],
                ["upgrade", "b2"],
                ["downgrade", "-1"],
                ["current"],
                ["downgrade", "-1"],
                ["current"],
                ["downgrade", "-2"],
                ["current"],
                ["upgrade", "b2"],
                ["upgrade", "a2"],
                ["downgrade", "-1"],
                ["downgrade", "a2@-1"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "stamp",
            "stamp: base, head, heads, sibling, ancestor, several targets, --purge.",
            [R("r0"), R("a1", "r0"), R("a2", "a1"), R("b1", "r0"), R("u1")],
            [
                ["stamp", "a1"],
                ["stamp", "a2"],
                ["stamp", "b1"],
                ["current"],
                ["stamp", "r0"],
                ["stamp", "heads"],
                ["stamp", "a1"],
                ["stamp", "base"],
                ["stamp", "head"],
                ["stamp", "a2", "b1"],
                ["stamp", "a2"],
                ["stamp", "a1"],
                ["stamp", "u1"],
                ["current"],
                ["stamp", "--purge", "a1"],
                ["stamp", "b1", "u1"],
                ["stamp", "--purge", "base"],
                ["stamp", "r0"],
                ["stamp", "a2", "a1"],
                ["stamp", "zzzz"],
                ["stamp", "--purge", "--sql", "a1"],
                ["upgrade", "heads"],
                ["stamp", "--purge", "heads"],
                ["stamp", "a2@base"],
                ["current"],
            ],
            [["stamp", "heads", "--sql"], ["stamp", "a1:b1", "--sql"], ["stamp", "a2:r0", "--sql"]],
        )
    )

    s.append(
        Scenario(
            "stamp_then_upgrade",
            "Stamping does not run migrations; a later upgrade only runs what is missing.",
            chain(["a", "b", "c", "d"]),
            [
                ["stamp", "b"],
                ["upgrade", "heads"],
                ["stamp", "a"],
                ["upgrade", "c"],
                ["stamp", "base"],
                ["upgrade", "+1"],
                ["stamp", "--purge", "d"],
                ["downgrade", "c"],
            ],
        )
    )

    s.append(
        Scenario(
            "multiple_bases",
            "Two unrelated bases: heads, +1 from empty, per-base downgrades.",
            [R("x1"), R("y1"), R("x2", "x1"), R("y2", "y1")],
            [
                ["upgrade", "+1"],
                ["upgrade", "x1"],
                ["upgrade", "+1"],
                ["upgrade", "heads"],
                ["downgrade", "x1"],
                ["current"],
                ["downgrade", "y1@base"],
                ["downgrade", "-1"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "base"],
                ["upgrade", "y2"],
                ["current"],
            ],
            [["history", "-r", "x1:"], ["history", "-r", ":y2"]],
        )
    )

    s.append(
        Scenario(
            "label_spreading",
            "A label on a mid-chain revision spreads to descendants and to ancestors up to the nearest fork.",
            [
                R("r0"),
                R("r1", "r0"),
                R("f1", "r1"),
                R("f2", "f1", labels=["feat"]),
                R("f3", "f2"),
                R("f4a", "f3"),
                R("f4b", "f3"),
                R("g1", "r1", labels=["other"]),
            ],
            [
                ["upgrade", "feat@head"],
                ["upgrade", "feat@base"],
                ["current"],
                ["upgrade", "feat@f2"],
                ["current"],
                ["upgrade", "feat@f4a"],
                ["upgrade", "feat@heads"],
                ["upgrade", "feat@r0"],
                ["upgrade", "feat@r1"],
                ["downgrade", "feat@base"],
                ["current"],
                ["upgrade", "other@head"],
                ["downgrade", "feat@f1"],
                ["downgrade", "other@-1"],
                ["current"],
            ],
            [["history", "-r", "feat:"], ["history", "-r", "feat@base:feat@heads"]],
        )
    )

    s.append(
        Scenario(
            "label_spreading_chain",
            "A label above a plain chain spreads up to (not onto) the nearest branch point.",
            [
                R("r0"),
                R("r1", "r0"),
                R("r2", "r1"),
                R("f1", "r2", labels=["feat"]),
                R("f2", "f1"),
                R("g1", "r0"),
            ],
            [
                ["upgrade", "feat@+1"],
                ["upgrade", "feat@+1"],
                ["upgrade", "feat@head"],
                ["downgrade", "feat@-2"],
                ["downgrade", "feat@base"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "feat@r1"],
                ["downgrade", "feat@r0"],
                ["current"],
                ["upgrade", "feat@r2"],
                ["upgrade", "feat@g1"],
            ],
            [["history", "-r", "feat@base:"], ["history", "-r", "feat:"]],
        )
    )

    s.append(
        Scenario(
            "label_spreading_dependency_stop",
            "A dependent counts as a second child: the upward spread stops there.",
            [
                R("r0"),
                R("r1", "r0"),
                R("r2", "r1"),
                R("f1", "r2", labels=["feat"]),
                R("f2", "f1"),
                R("x1", None, deps=["r1"]),
            ],
            [
                ["upgrade", "feat@head"],
                ["downgrade", "feat@base"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "feat@r1"],
                ["downgrade", "feat@r0"],
                ["current"],
            ],
            [["history", "-r", "feat@base:"], ["heads", "--resolve-dependencies"]],
        )
    )

    s.append(
        Scenario(
            "two_merges_diamond",
            "A diamond (r0 -> a, b -> m1) followed by a fork and a second merge m2.",
            [
                R("r0"),
                R("a", "r0"),
                R("b", "r0"),
                R("m1", ["a", "b"]),
                R("c", "m1"),
                R("d1", "c"),
                R("d2", "c"),
                R("m2", ["d1", "d2"]),
                R("e", "m2"),
            ],
            [
                ["upgrade", "heads"],
                ["downgrade", "c"],
                ["current"],
                ["downgrade", "-1"],
                ["downgrade", "a"],
                ["current"],
                ["upgrade", "+1"],
                ["upgrade", "m2"],
                ["downgrade", "d1"],
                ["current"],
                ["downgrade", "m1"],
                ["downgrade", "r0"],
                ["upgrade", "m1+1"],
                ["upgrade", "c+1"],
                ["upgrade", "c+3"],
                ["upgrade", "r0+2"],
                ["downgrade", "m1-1"],
                ["downgrade", "e-2"],
                ["upgrade", "e"],
                ["downgrade", "e-2"],
                ["downgrade", "-4"],
                ["downgrade", "base"],
            ],
            [
                ["history", "-r", "a:e"],
                ["history", "-r", "d2:"],
                ["upgrade", "heads", "--sql"],
                ["downgrade", "e:base", "--sql"],
            ],
        )
    )

    s.append(
        Scenario(
            "relative_on_branches",
            "br@+N from a fork (backtracking), br@-N, and rev+N walks past forks.",
            [
                R("r0"),
                R("r1", "r0"),
                R("a1", "r1", labels=["alpha"]),
                R("a2", "a1"),
                R("a3", "a2"),
                R("b1", "r1", labels=["beta"]),
                R("b2", "b1"),
            ],
            [
                ["upgrade", "alpha@+1"],
                ["upgrade", "alpha@+2"],
                ["upgrade", "r1"],
                ["upgrade", "alpha@+2"],
                ["upgrade", "beta@+1"],
                ["upgrade", "beta@+1"],
                ["upgrade", "beta@+1"],
                ["upgrade", "r1+1"],
                ["upgrade", "a1+2"],
                ["downgrade", "alpha@-2"],
                ["downgrade", "beta@-1"],
                ["downgrade", "alpha@-5"],
                ["downgrade", "b1-1"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "a3-4"],
                ["downgrade", "a3-3"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "error_cycle",
            "a -> b -> c -> a: fails when the map is built.",
            [R("a", "c"), R("b", "a"), R("c", "b")],
            [["upgrade", "heads"], ["stamp", "a"]],
        )
    )

    s.append(
        Scenario(
            "error_dependency_cycle",
            "a depends_on b while b descends from a.",
            [R("a", None, deps=["b"]), R("b", "a")],
            [["upgrade", "heads"]],
        )
    )

    s.append(
        Scenario(
            "error_self_loop",
            "A revision whose down_revision is itself.",
            [R("a"), R("b", "b")],
            [["upgrade", "heads"]],
        )
    )

    s.append(
        Scenario(
            "error_duplicate_label",
            "Two revisions carry the same branch label.",
            [R("a"), R("b", "a", labels=["feat"]), R("c", "a", labels=["feat"])],
            [["upgrade", "heads"]],
        )
    )

    s.append(
        Scenario(
            "error_missing_down_revision",
            "down_revision names a revision that does not exist: Alembic crashes (KeyError).",
            [R("a"), R("b", "zzzz9999"), R("c", "b")],
            [["upgrade", "heads"], ["stamp", "a"]],
        )
    )

    s.append(
        Scenario(
            "error_duplicate_revision_id",
            "Two files declare the same id: Alembic warns and the later file wins.",
            [R("a"), R("b", "a", message="first b"), R("c", "a"), R("b", "c", message="second b")],
            [["upgrade", "heads"], ["current"]],
        )
    )

    s.append(
        Scenario(
            "error_illegal_revision_id",
            "A revision id with a character Alembic reserves for its target grammar.",
            [R("a"), R("a-b", "a")],
            [["upgrade", "heads"]],
        )
    )

    s.append(
        Scenario(
            "error_missing_dependency",
            "depends_on names a revision that does not exist.",
            [R("a"), R("b", "a", deps=["nope1234"])],
            [["upgrade", "heads"]],
        )
    )

    s.append(
        Scenario(
            "failure_mid_plan",
            "A step that fails: with transaction_per_migration the earlier steps stay applied.",
            [R("a"), R("b", "a"), R("c", "b", fail_on="up"), R("d", "c")],
            [
                ["upgrade", "heads"],
                ["current"],
                ["stamp", "c"],
                ["upgrade", "heads"],
                ["downgrade", "base"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "failure_on_downgrade",
            "A downgrade step that fails leaves the later steps undone.",
            [R("a"), R("b", "a", fail_on="down"), R("c", "b")],
            [["upgrade", "heads"], ["downgrade", "base"], ["current"]],
        )
    )

    s.append(
        Scenario(
            "history_ranges",
            "history -r ranges, `current` in ranges, -i, -v, and bad ranges.",
            [
                R("r0"),
                R("a1", "r0", labels=["alpha"]),
                R("a2", "a1"),
                R("b1", "r0"),
                R("m1", ["a2", "b1"]),
                R("c1", "m1"),
                R("c2", "c1"),
            ],
            [["upgrade", "a2"], ["current"], ["current", "-v"], ["current", "--check-heads"]],
            [
                ["history", "-r", "a1:m1"],
                ["history", "-r", ":a2"],
                ["history", "-r", "m1:"],
                ["history", "-r", "base:"],
                ["history", "-r", ":heads"],
                ["history", "-r", ":head"],
                ["history", "-r", "current:"],
                ["history", "-r", ":current"],
                ["history", "-r", "current:heads"],
                ["history", "-r", "base:current"],
                ["history", "-r", "a2:a1"],
                ["history", "-r", "b1:a2"],
                ["history", "-r", "a1"],
                ["history", "-r=-2:"],
                ["history", "-r", "a1+1:"],
                ["history", "-r", "alpha@base:"],
                ["history", "-r", "zzzz:"],
                ["history", "-i"],
                ["history", "-v", "-r", "b1:m1"],
                ["heads", "-v"],
                ["branches", "-v"],
            ],
        )
    )
    s.extend(history_through_dependencies())
    s.extend(stamp_several_revisions())

    s.append(
        Scenario(
            "offline_sql",
            "Offline --sql output: upgrade from base, ranges, merges, downgrade from:to, stamp.",
            [
                R("aaaa1111"),
                R("bbbb2222", "aaaa1111"),
                R("cccc1111", "bbbb2222", labels=["lbl1"]),
                R("cccc2222", "bbbb2222"),
                R("dddd0000", ["cccc1111", "cccc2222"], message="merge c"),
                R("eeee0000", None, deps=["cccc1111"], message="e dep"),
            ],
            [
                ["upgrade", "heads", "--sql"],
                ["upgrade", "aaaa1111", "--sql"],
                ["upgrade", "bbbb2222:heads", "--sql"],
                ["upgrade", "cccc1111:dddd0000", "--sql"],
                ["downgrade", "dddd0000:bbbb2222", "--sql"],
                ["downgrade", "bbbb2222:base", "--sql"],
                ["downgrade", "base", "--sql"],
                ["upgrade", "aaaa1111:bbbb2222"],
                ["downgrade", "bbbb2222:aaaa1111"],
                ["stamp", "dddd0000", "--sql"],
                ["stamp", "aaaa1111:dddd0000", "--sql"],
                ["stamp", "base", "--sql"],
                ["upgrade", "+1", "--sql"],
                ["upgrade", "heads"],
                ["upgrade", "heads", "--sql"],
                ["current"],
            ],
        )
    )

    s.append(
        Scenario(
            "demo_project",
            "The graph of the bundled demo project (migrations/), read from its file headers.",
            parse_demo_project(),
            [
                ["upgrade", "heads"],
                ["downgrade", "billing@c94a2f7e5d10"],
                ["current"],
                ["upgrade", "audit@head"],
                ["current"],
                ["downgrade", "audit@base"],
                ["upgrade", "head"],
                ["downgrade", "-1"],
                ["downgrade", "-1"],
                ["current"],
                ["upgrade", "billing@head"],
                ["upgrade", "b"],
                ["upgrade", "b8"],
                ["downgrade", "a27f"],
                ["upgrade", "heads"],
                ["stamp", "--purge", "base"],
            ],
            [
                ["history", "-r", "billing@base:billing@head"],
                ["history", "-r", "audit:"],
                ["upgrade", "heads", "--sql"],
            ],
        )
    )

    return s


def history_through_dependencies() -> list[Scenario]:
    """`history -r LOWER:UPPER` where a revision in the range is below one of
    the listed heads only through a depends_on link from outside the range:
    the range's lower end keeps only down_revision descendants, so the
    dependent revision is left out. Alembic's `_topological_sort` asks "is
    this revision below that head" of full ancestor sets, so the link still
    counts; looking only at paths inside the range would print another order.
    A range whose upper end reaches a revision only through such a link makes
    Alembic's sort fail its final assertion (`assert not todo`)."""
    return [
        Scenario(
            "history_dependency_other_base",
            "x, a base of its own, depends on a; h merges b and x: in L: h goes before a.",
            [
                R("L"),
                R("a", "L"),
                R("a2", "a"),
                R("b", "L"),
                R("x", None, deps=["a"]),
                R("h", ["b", "x"]),
            ],
            [
                ["upgrade", "h"],
                ["current"],
                ["upgrade", "heads"],
                ["downgrade", "a"],
                ["current"],
                ["downgrade", "base"],
            ],
            [
                ["history", "-r", "L:"],
                ["history", "-r", "L:heads"],
                ["history", "-r", "L:a2"],
                ["history", "-r", "L:h"],
                ["history", "-r", "a:h"],
                ["history", "-r", "a:"],
                ["history", "-r", "b:"],
                ["history", "-r", "x:"],
                ["history", "-r", "base:h"],
            ],
        ),
        Scenario(
            "history_dependency_fork_below",
            "x sits on a branch forking below L and depends on a; labels on both branches.",
            [
                R("r0"),
                R("L", "r0", labels=["main"]),
                R("a", "L"),
                R("a2", "a"),
                R("b", "L"),
                R("y", "r0", labels=["side"]),
                R("x", "y", deps=["a"]),
                R("h", ["b", "x"]),
            ],
            [["upgrade", "h"], ["current"], ["downgrade", "y"], ["current"]],
            [
                ["history", "-r", "L:"],
                ["history", "-r", "L:heads"],
                ["history", "-r", "L:main@heads"],
                ["history", "-r", "L:h"],
                ["history", "-r", "main@base:"],
                ["history", "-r", "side@base:"],
                ["history", "-r", "r0:"],
                ["history", "-r", "y:"],
            ],
        ),
        Scenario(
            "history_dependency_two_hops",
            "The link leaves the range for two revisions (x1 depends on a2, x2 on x1, h merges b2 and x2).",
            [
                R("L"),
                R("a", "L"),
                R("a2", "a"),
                R("a3", "a2"),
                R("b", "L"),
                R("b2", "b"),
                R("x1", None, deps=["a2"]),
                R("x2", "x1"),
                R("h", ["b2", "x2"]),
            ],
            [["upgrade", "h"], ["current"]],
            [
                ["history", "-r", "L:"],
                ["history", "-r", "L:a3"],
                ["history", "-r", "a:"],
                ["history", "-r", "b:"],
                ["history", "-r", "a2:h"],
            ],
        ),
        Scenario(
            "history_dependency_merge_in_range",
            "A merge inside the range (m of a and b) while h2 reaches a through x outside it.",
            [
                R("L"),
                R("a", "L"),
                R("b", "L"),
                R("m", ["a", "b"]),
                R("n", "m"),
                R("c", "L"),
                R("x", None, deps=["a"]),
                R("h2", ["c", "x"]),
            ],
            [["upgrade", "h2"], ["current"], ["upgrade", "heads"], ["downgrade", "L"]],
            [
                ["history", "-r", "L:"],
                ["history", "-r", "L:heads"],
                ["history", "-r", "L:n"],
                ["history", "-r", "L:h2"],
                ["history", "-r", "a:"],
                ["history", "-r", "c:"],
            ],
        ),
        Scenario(
            "history_dependency_single_upper",
            "One upper revision, a merge whose two parents meet again only through x outside the range.",
            [
                R("L"),
                R("a", "L"),
                R("m1", "a"),
                R("b", "L"),
                R("x", None, deps=["a"]),
                R("h", ["b", "x"]),
                R("Y", ["m1", "h"]),
            ],
            [["upgrade", "Y"], ["downgrade", "a"], ["current"]],
            [
                ["history", "-r", "L:Y"],
                ["history", "-r", "L:"],
                ["history", "-r", "a:Y"],
                ["history", "-r", "b:Y"],
            ],
        ),
        Scenario(
            "history_dependency_crossed",
            "Two links out of the range in opposite directions (x depends on b, y on a).",
            [
                R("L"),
                R("a", "L"),
                R("a2", "a"),
                R("b", "L"),
                R("b2", "b"),
                R("x", None, deps=["b"]),
                R("y", None, deps=["a"]),
                R("hx", ["a2", "x"]),
                R("hy", ["b2", "y"]),
            ],
            [["upgrade", "hx"], ["current"], ["upgrade", "heads"]],
            [
                ["history", "-r", "L:"],
                ["history", "-r", "L:hx"],
                ["history", "-r", "a:"],
                ["history", "-r", "b:"],
            ],
        ),
        Scenario(
            "history_dependency_crossed_heads_swapped",
            "As history_dependency_crossed with hy before hx in file order: the listed heads swap.",
            [
                R("L"),
                R("a", "L"),
                R("a2", "a"),
                R("b", "L"),
                R("b2", "b"),
                R("x", None, deps=["b"]),
                R("y", None, deps=["a"]),
                R("hy", ["b2", "y"]),
                R("hx", ["a2", "x"]),
            ],
            [["upgrade", "heads"]],
            [["history", "-r", "L:"], ["history", "-r", "L:hy"]],
        ),
    ]


def stamp_several_revisions() -> list[Scenario]:
    """`stamp` with two revisions at once. Alembic collects the current heads
    in the lineage of any of the revisions once, then handles each revision
    against that whole collection, so two revisions on different branches can
    each move (or try to move) both branches' heads."""
    graph = [R("r0"), R("a1", "r0"), R("a2", "a1"), R("b1", "r0"), R("b2", "b1"), R("u1")]
    return [
        Scenario(
            "stamp_two_revisions",
            "stamp with two revisions: different branches, same lineage, base, heads, duplicates.",
            graph,
            [
                ["stamp", "a1", "b1"],
                ["stamp", "a2", "b2"],
                ["stamp", "a1", "b1"],
                ["current"],
                ["stamp", "--purge", "a1", "b1"],
                ["stamp", "a2", "a1"],
                ["stamp", "a1", "a2"],
                ["current"],
                ["stamp", "b2", "a1"],
                ["stamp", "u1", "b1"],
                ["current"],
                ["stamp", "--purge", "a2", "a1"],
                ["stamp", "a1", "a1"],
                ["stamp", "--purge", "a1", "a1"],
                ["stamp", "--purge", "base"],
                ["stamp", "a1", "a1"],
                ["stamp", "--purge", "a2"],
                ["stamp", "base", "b1"],
                ["stamp", "--purge", "a2", "b2"],
                ["stamp", "b1", "base"],
                ["stamp", "--purge", "a1", "b2"],
                ["stamp", "a2", "b1"],
                ["current"],
                ["stamp", "heads", "a1"],
                ["stamp", "--purge", "r0", "a1"],
                ["stamp", "--purge", "b1", "u1"],
                ["stamp", "a2", "u1"],
                ["current"],
            ],
        ),
    ]


# ---------------------------------------------------------------------------
# The throwaway Alembic project

ENV_PY = '''\
from alembic import context
from sqlalchemy import create_engine, pool, text

config = context.config


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        transaction_per_migration=True,
        version_table="alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(
        config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        # The log of applied migrations lives beside alembic_version, not in it.
        connection.execute(
            text(
                "CREATE TABLE IF NOT EXISTS applied_log ("
                "id serial PRIMARY KEY, rev text NOT NULL, dir text NOT NULL)"
            )
        )
        connection.commit()
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            version_table="alembic_version",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}"""
'''


def revision_script(rev: Rev) -> str:
    def as_python(items: list[str]):
        if not items:
            return None
        return items[0] if len(items) == 1 else tuple(items)

    def migration(direction: str) -> str:
        body = f"    op.execute(\"INSERT INTO applied_log(rev, dir) VALUES ('{rev.id}', '{direction}')\")\n"
        if rev.fail_on == direction:
            body += '    op.execute("SELECT 1/0")\n'
        return body

    return (
        f'"""{rev.message_text()}"""\n'
        "from alembic import op\n\n"
        f"revision = {rev.id!r}\n"
        f"down_revision = {as_python(rev.down)!r}\n"
        f"branch_labels = {tuple(rev.labels) if rev.labels else None!r}\n"
        f"depends_on = {tuple(rev.depends_on) if rev.depends_on else None!r}\n\n\n"
        "def upgrade():\n"
        f"{migration('up')}\n\n"
        "def downgrade():\n"
        f"{migration('down')}"
    )


def write_project(root: Path, scenario: Scenario) -> None:
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY)
    (root / "script.py.mako").write_text(SCRIPT_MAKO)
    width = max(4, len(str(len(scenario.revisions))))
    for index, rev in enumerate(scenario.revisions, start=1):
        name = f"{index:0{width}d}_{rev.id}.py"
        (versions / name).write_text(revision_script(rev))


# ---------------------------------------------------------------------------
# Database helpers


class Database:
    """A uniquely named scratch database on the server of DATABASE_URL."""

    def __init__(self, server_url: str, scenario_name: str):
        self.server = make_url(server_url)
        self.name = f"retort_alembic_fx_{os.getpid()}_{scenario_name}"[:63]
        self.url = self.server.set(drivername="postgresql+psycopg2", database=self.name)

    def _admin(self):
        conn = psycopg2.connect(self._dsn(self.server.database or "postgres"))
        conn.autocommit = True
        return conn

    def _dsn(self, dbname: str) -> str:
        parts = {
            "host": self.server.host or "127.0.0.1",
            "port": self.server.port or 5432,
            "user": self.server.username or "postgres",
            "dbname": dbname,
        }
        if self.server.password:
            parts["password"] = self.server.password
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def create(self) -> None:
        with contextlib.closing(self._admin()) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        with contextlib.closing(self._admin()) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, params=()):
        """Rows of `sql`, or None when a table it reads does not exist."""
        with contextlib.closing(psycopg2.connect(self._dsn(self.name))) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                try:
                    cur.execute(sql, params)
                except psycopg2.errors.UndefinedTable:
                    return None
                return cur.fetchall()


# ---------------------------------------------------------------------------
# Running commands


class Runner:
    def __init__(self, project: Path, db: Database, revision_order: list[str]):
        self.project = project
        self.db = db
        self.revision_order = revision_order
        self.url_text = db.url.render_as_string(hide_password=False)
        self.last_log_id = 0

    def alembic(self, argv: list[str]) -> dict:
        """Run one alembic command line the way the CLI does, with --raiseerr so
        failures surface as exceptions; capture stdout, offline SQL, warnings."""
        out = io.StringIO()
        err = io.StringIO()
        result: object = "ok"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with contextlib.redirect_stderr(err):
                    cli = CommandLine(prog="alembic")
                    options = cli.parser.parse_args(["--raiseerr", *argv])
                config = Config(stdout=out, output_buffer=out, cmd_opts=options)
                config.set_main_option("script_location", str(self.project))
                config.set_main_option("sqlalchemy.url", self.url_text.replace("%", "%%"))
                with contextlib.redirect_stdout(out):
                    cli.run_cmd(config, options)
            except SystemExit as exc:  # argparse rejected the command line
                result = {
                    "error": self.scrub(err.getvalue().strip().splitlines()[-1]),
                    "type": "ArgumentError",
                    "exit_code": exc.code,
                }
            except Exception as exc:  # noqa: BLE001 - every failure is data here
                result = self.error_record(exc)
        stdout = self.scrub(out.getvalue())
        if argv[0] == "current" and "-v" not in argv and "--verbose" not in argv:
            stdout = "".join(sorted(stdout.splitlines(keepends=True)))
        return {
            "result": self.canonical_result(result),
            "warnings": [
                self.scrub(str(w.message))
                for w in caught
                if not issubclass(w.category, DeprecationWarning)
            ],
            "stdout": stdout,
        }

    def canonical_result(self, result: object) -> object:
        """Alembic names the two revisions of a duplicate label in set-iteration
        order of Revision objects (hashed by identity, so it changes from run to
        run): name them in file order, the later file first (it reuses the label)."""
        if not isinstance(result, dict):
            return result
        for key in ("error", "cause"):
            match = DUPLICATE_LABEL.fullmatch(result.get(key, ""))
            if match:
                label, first, second = match.groups()
                later, earlier = sorted(
                    (first, second), key=self.revision_order.index, reverse=True
                )
                result[key] = (
                    f"Branch name '{label}' in revision {later} already used by revision {earlier}"
                )
        return result

    def error_record(self, exc: BaseException) -> dict:
        """The message the CLI prints, plus what it hides: the underlying
        exception (the CLI turns every ResolutionError into "Can't locate
        revision identified by ..."), and where an uncaught crash came from."""
        record = {"error": self.scrub(error_message(exc)), "type": type(exc).__name__}
        cause = exc.__cause__
        if cause is not None and error_message(cause) != error_message(exc):
            record["cause"] = self.scrub(error_message(cause))
            record["cause_type"] = type(cause).__name__
        if isinstance(exc, sqlalchemy.exc.DBAPIError):
            record["sqlstate"] = getattr(exc.orig, "pgcode", None)
        if not isinstance(exc, alembic.util.CommandError):
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            parts = Path(frame.filename).parts
            if "site-packages" in parts:
                parts = parts[parts.index("site-packages") + 1 :]
            record["raised_at"] = f"{Path(*parts)}:{frame.lineno} in {frame.name}"
        return record

    def scrub(self, text: str) -> str:
        """Replace run-specific paths and database names with placeholders."""
        text = text.replace(str(self.project), "<project>")
        text = text.replace(self.db.url.render_as_string(hide_password=True), "<url>")
        return text.replace(self.db.name, "<db>")

    def rows(self) -> tuple[list[str], bool]:
        rows = self.db.query("SELECT version_num FROM alembic_version")
        if rows is None:
            return [], False
        return sorted(r[0] for r in rows), True

    def applied_since_last(self) -> list[list[str]]:
        rows = self.db.query(
            "SELECT id, rev, dir FROM applied_log WHERE id > %s ORDER BY id",
            (self.last_log_id,),
        )
        if not rows:
            return []
        self.last_log_id = rows[-1][0]
        return [[rev, direction] for _, rev, direction in rows]

    def command(self, argv: list[str]) -> dict:
        run = self.alembic(argv)
        rows, table_exists = self.rows()
        return {
            "cmd": argv[0],
            "args": argv[1:],
            "result": run["result"],
            "warnings": run["warnings"],
            "rows_after": rows,
            "version_table_exists": table_exists,
            "applied": self.applied_since_last(),
            "stdout": run["stdout"],
        }

    def load(self) -> dict:
        """Build the revision map once, as every command does first."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = Config()
            config.set_main_option("script_location", str(self.project))
            try:
                script = ScriptDirectory.from_config(config)
                script.revision_map.heads  # noqa: B018 - forces the map to build
                result: object = "ok"
            except Exception as exc:  # noqa: BLE001
                result = self.error_record(exc)
        return {
            "result": self.canonical_result(result),
            "warnings": [
                self.scrub(str(w.message))
                for w in caught
                if not issubclass(w.category, DeprecationWarning)
            ],
        }


def error_message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"KeyError: {exc}"
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        # Keep the server's message, drop SQLAlchemy's SQL echo and help link.
        return str(exc.orig).strip()
    return str(exc).strip()


def run_scenario(scenario: Scenario, server_url: str) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"alembic_fx_{scenario.name}_"))
    db = Database(server_url, scenario.name)
    db.create()
    try:
        project = root / "project"
        write_project(project, scenario)
        runner = Runner(project, db, [rev.id for rev in scenario.revisions])
        load = runner.load()
        commands = [runner.command(argv) for argv in scenario.commands]
        output_argvs = (DEFAULT_OUTPUTS if scenario.default_outputs else []) + scenario.outputs
        outputs = {}
        for argv in output_argvs:
            run = runner.alembic(argv)
            outputs[" ".join(argv)] = {
                "argv": argv,
                "result": run["result"],
                "warnings": run["warnings"],
                "stdout": run["stdout"],
            }
        final_rows, _ = runner.rows()
        return {
            "format_version": FORMAT_VERSION,
            "name": scenario.name,
            "description": scenario.description,
            "generated_by": {
                "alembic": alembic.__version__,
                "sqlalchemy": sqlalchemy.__version__,
                "postgresql": db.query("SHOW server_version")[0][0],
            },
            "revisions": [rev.to_json() for rev in scenario.revisions],
            "load": load,
            "commands": commands,
            "rows_when_outputs_captured": final_rows,
            "outputs": outputs,
        }
    finally:
        db.drop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these scenarios (default: all)")
    parser.add_argument("--list", action="store_true", help="list scenario names and exit")
    args = parser.parse_args()

    all_scenarios = scenarios()
    names = [sc.name for sc in all_scenarios]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate scenario names")
    if args.list:
        print("\n".join(names))
        return 0
    unknown = set(args.names) - set(names)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")

    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for scenario in all_scenarios:
        if args.names and scenario.name not in args.names:
            continue
        fixture = run_scenario(scenario, server_url)
        path = FIXTURES / f"{scenario.name}.json"
        path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(REPO)} ({len(fixture['commands'])} commands)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Tests only: many contract-kit runs for the price of one start-up.

Python start-up and imports are over half the CPU time of a short kit run. `python drift_runner.py`
imports the kit and its heavy dependencies once, then forks one child per job (at most `workers` at
a time). A child is `dumpling-contract ARGS`: it runs `contract_tests.cli.main(args)`, the console
script's function, from the parent's clean state (no pytest session has run there), with the job's
environment, working directory and output file, and exits with the run's exit code.

stdin: {"workers": int, "jobs": [{"name", "args", "env", "cwd", "output"}, ...]};
stdout: {name: exit code} as JSON.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any

import contract_tests.cli

PRELOAD = (  # what every run imports, heaviest first (python -X importtime)
    "hypothesis",
    "hypothesis.stateful",
    "schemathesis",
    "schemathesis.specs.openapi.schemas",
    "schemathesis.specs.openapi.checks",
    "schemathesis.python.asgi",
    "schemathesis.pytest.plugin",
    "schemathesis.pytest._test_builder",
    "schemathesis.generation.stateful.state_machine",
    "schemathesis.specs.openapi.coverage._operation",
    "schemathesis.transport.asgi",
    "pyrate_limiter",
    "_pytest.junitxml",
    "pdb",
    "contract_tests.kit",
    "contract_tests.report",
    "mock_server.app.factory",
)


def child(job: dict[str, Any]) -> int:
    for name in [n for n in os.environ if n.startswith("DUMPLING_")]:
        del os.environ[name]
    os.environ.update(job["env"])
    os.chdir(job["cwd"])
    fd = os.open(job["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        return int(contract_tests.cli.main(job["args"]) or 0)
    except SystemExit as exc:  # argparse's own exits
        return exc.code if isinstance(exc.code, int) else 2
    except BaseException:
        traceback.print_exc()
        return 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def main() -> None:
    for module in PRELOAD:
        importlib.import_module(module)
    spec = json.load(sys.stdin)
    pending = list(spec["jobs"])
    running: dict[int, str] = {}
    codes: dict[str, int] = {}
    while pending or running:
        while pending and len(running) < spec["workers"]:
            job = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os._exit(child(job))
            running[pid] = job["name"]
        pid, status = os.wait()
        codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)
    print(json.dumps(codes))


if __name__ == "__main__":
    main()

"""``omsbayes explorer``: the what-if explorer as a web page (Voila), for a classroom without Jupyter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import OmsBayesError
from ._common import parse_evidence

HELP = "serve the interactive what-if explorer as a web page (Voila)"

_INSTALL_HINT = "omsbayes explorer needs Voila: python -m pip install 'omsbayes[classroom]'"


def register(sub) -> None:
    p = sub.add_parser(
        "explorer",
        help=HELP,
        description=(
            "Serve the what-if explorer (omsbayes.Explorer) as a web page with Voila: the age, one toggle per "
            "finding and test, and beside them the posterior bars and the next best tests; no notebook or "
            "code is shown. Students open the printed address (use --ip 0.0.0.0 to serve a classroom network). "
            "Optional starting evidence is written variable=state; --write only writes the app notebook."
        ),
    )
    p.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="starting findings and tests (state names)")
    p.add_argument("--age", type=float, default=None, help="starting age in years (default: unknown)")
    p.add_argument("--port", type=int, default=8866, help="port to serve on (default 8866)")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument("--write", metavar="IPYNB", help="only write the app notebook to this file (serve it with voila)")
    p.set_defaults(func=run)


def app_notebook(model_path: str | None, age: float | None, evidence: dict) -> dict:
    """The one-cell notebook Voila serves (nbformat 4 as a dict): the explorer's widget."""
    code = (
        "import omsbayes\n\n"
        f"model = omsbayes.load_model({model_path!r})\n"
        f"explorer = omsbayes.Explorer(model, age={age!r}, evidence={evidence!r})\n"
        "explorer.widget()"
    )
    title = (
        "## omsbayes what-if explorer\n\nSet the age and what is known on the left; the posteriors and the most "
        "informative next findings and tests follow on the right.\n\n*A research and teaching tool, not a medical device.*"
    )
    return {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {}, "source": title},
            {"cell_type": "code", "id": "explorer", "metadata": {}, "execution_count": None, "outputs": [], "source": code},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def voila_command(notebook: Path, port: int, ip: str, no_browser: bool) -> list[str]:
    """The Voila command line serving ``notebook``."""
    cmd = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={ip}"]
    if no_browser:
        cmd.append("--no-browser")
    return cmd


def run(args) -> int:
    from ..model import load_model

    evidence = parse_evidence(args.evidence)
    model_path = None if args.model is None else str(Path(args.model).resolve())
    # check the starting case here: a bad one is an error now, not a traceback in the students' page
    from ..explorer import Explorer

    Explorer(load_model(model_path), age=args.age, evidence=evidence, next_tests=1)
    notebook = app_notebook(model_path, args.age, evidence)
    if args.write:
        Path(args.write).write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
        print(args.write)
        return 0
    try:
        import voila  # noqa: F401
    except ImportError:
        raise OmsBayesError(_INSTALL_HINT) from None
    folder = Path(tempfile.mkdtemp(prefix="omsbayes-explorer-"))
    path = folder / "omsbayes_explorer.ipynb"
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    print(f"Serving the explorer at http://{args.ip}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    try:
        return subprocess.call(voila_command(path, args.port, args.ip, args.no_browser))
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)

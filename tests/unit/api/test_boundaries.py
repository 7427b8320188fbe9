"""Module boundaries: the service never imports training code; imports do no work."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_api_app_does_not_import_training() -> None:
    """Building the API pulls in no module of the training package."""
    loaded = _modules_after("from api.app import create_app; create_app()")
    assert not {m for m in loaded if m == "training" or m.startswith("training.")}


def test_importing_packages_creates_no_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Importing every package leaves a fresh home and working directory empty."""
    home = tmp_path / "home"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import risk_model.config, risk_model.store, features.pipeline, training.cli, "
            "model_registry.registry, api.app",
        ],
        cwd=tmp_path,
        env={"PMO_RISK_HOME": str(home), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert not home.exists()
    assert list(tmp_path.iterdir()) == []

"""Public portfolio data sets: a registry of loaders (NAME -> loader, description, sources).

Each loader turns local files into canonical (projects, snapshots) frames. ``resolve_files``
gives a loader its files: the ones the user names, or the public source files downloaded
once into a cache folder (checked against their SHA-256). Nothing is downloaded at import
time, and tests never download.
"""

from __future__ import annotations

import hashlib
import importlib
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from risk_model.exceptions import PmoRiskError, Problem, ValidationFailed

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetUnavailable",
    "SourceFile",
    "get_dataset",
    "load_dataset",
    "resolve_files",
]

Frames = tuple[pd.DataFrame, pd.DataFrame]


class DatasetUnavailable(PmoRiskError):
    """A data set's files are neither given nor cached, and cannot be downloaded."""


@dataclass(frozen=True)
class SourceFile:
    """One public file of a data set: where to download it and its SHA-256."""

    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """A registered data set: ``loader`` is ``"module:function"`` taking a list of paths."""

    name: str
    title: str
    description: str
    loader: str
    sources: tuple[SourceFile, ...]
    licence: str
    # a loader that downloads and caches by itself: ``fn(cache_dir=...)`` (used when no
    # file is given and ``sources`` is empty)
    cached_loader: str | None = None

    def load_function(self) -> Callable[[Sequence[Path]], Frames]:
        """The loader, imported on first use (so a missing optional loader fails late)."""
        fn: Callable[[Sequence[Path]], Frames] = _function(self.loader)
        return fn


def _function(spec: str) -> Any:
    module_name, function = spec.split(":")
    return getattr(importlib.import_module(module_name), function)


_GMPP_REPO = (
    "https://raw.githubusercontent.com/kp365/BEMM466_022324/"
    "4f0e417edc76e78f79a2a9fa683d7266e82518c9/"
)
_ITD_REPO = (
    "https://raw.githubusercontent.com/junjchen/COMP6214-data-visualization/"
    "232531eb3f18e1299c85dcb6065ed283b830c350/"
)


def _gmpp(name: str, sha256: str) -> SourceFile:
    return SourceFile(name, _GMPP_REPO + name, sha256)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="gmpp",
            title="UK Government Major Projects Portfolio, annual reports 2022-2024",
            description=(
                "One report per project per year (31 March): IPA delivery confidence as rag, "
                "latest approved end date and whole-life cost as forecasts; baseline = the "
                "earliest report. Outcomes unknown (every project active)."
            ),
            loader="features.sources.datasets.gmpp:load_gmpp",
            sources=(
                _gmpp(
                    "GMPP_Government_Major_Projects_Portfolio_AR_Data_March_2022.csv",
                    "f34d32e4ed93a34cb9e7500491bba4cfa9568999c7dfabcbe74e0cc4cf538f2c",
                ),
                _gmpp(
                    "BEIS_Government_Major_Projects_Portfolio_Data_March_2022.csv",
                    "410fb6fb514364b463a241fe22699a2192b685348fdd7441ccfaab9a160a6a46",
                ),
                _gmpp(
                    "GMPP_Government_Major_Projects_Portofolio_AR_Data_March_2023.csv",
                    "ecd3756718a71e6f52fb25050caba535d64e7f5b21f6db361cfa10859a4364ac",
                ),
                _gmpp(
                    "CO_Government_Major_Projects_Portofolio_AR_Data_March_2024.csv",
                    "8b6b983d3fb7818b273d9faa407d87d24cdfcb7f8c18a5fa6770ef5d3592f356",
                ),
                _gmpp(
                    "DESNZ_Government_Major_Projects_Portofolio_AR_Data_March_2024.csv",
                    "795693c95a84733d303b98e2a4a2c9d7247fa8fad7f4e698f682052f4920692b",
                ),
            ),
            licence="Open Government Licence v3.0 (Infrastructure and Projects Authority)",
        ),
        Dataset(
            name="it-dashboard",
            title="US Federal IT Dashboard export, 2011-2012",
            description=(
                "One row per federal IT project: planned vs projected/actual completion and "
                "cost; finished projects carry their outcome. Static: use it 'at approval'."
            ),
            loader="features.sources.datasets.it_dashboard:load_it_dashboard_files",
            sources=(
                SourceFile(
                    "projects.csv",
                    _ITD_REPO + "src/d.csv",
                    "0eef8ac3faf1d85787652297c7e820d85bccfba89cbb900ba7e938e8e52926c6",
                ),
            ),
            licence="US government work, public domain",
        ),
        # issue 3's loader (features/sources/datasets/nyc.py) downloads and caches itself
        Dataset(
            name="nyc",
            title="NYC Capital Projects dashboard, 2013-2019",
            description=(
                "One report per project per report date: phase, budget forecast, forecast "
                "completion; baseline from each project's first report (point in time)."
            ),
            loader="features.sources.datasets:_load_nyc_files",
            sources=(),
            licence="NYC Open Data terms of use (public data, cite the source)",
            cached_loader="features.sources.datasets.nyc:load_nyc",
        ),
    )
}


def _load_nyc_files(paths: Sequence[Path]) -> Frames:
    """Issue 3's ``load_nyc(path)`` on the one CSV given."""
    from features.sources.datasets.nyc import load_nyc

    return load_nyc(_single(paths, "nyc"))


def _single(paths: Sequence[Path], name: str) -> Path:
    files = [p for p in map(Path, paths) if not p.is_dir()]
    files += [f for p in map(Path, paths) if p.is_dir() for f in sorted(p.glob("*.csv"))]
    if len(files) != 1:
        raise ValidationFailed(
            [Problem(", ".join(map(str, paths)), None, None, f"{name} needs exactly one CSV file")]
        )
    return files[0]


def get_dataset(name: str) -> Dataset:
    """The registered data set, or ``DatasetUnavailable`` listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DatasetUnavailable(f"unknown data set {name!r}; known: {known}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_files(
    dataset: Dataset,
    files: Sequence[Path] = (),
    *,
    cache_dir: Path | None = None,
    download: bool = True,
) -> list[Path]:
    """The files to load: ``files`` when given, else the cached source files.

    Missing cache files are downloaded from their public URL (when ``download``) and kept
    only if their SHA-256 matches. Raises ``DatasetUnavailable`` when a file is missing.
    """
    if files:
        missing = [p for p in map(Path, files) if not p.exists()]
        if missing:
            raise DatasetUnavailable(f"no such file: {', '.join(map(str, missing))}")
        return [Path(p) for p in files]
    if cache_dir is None:
        raise DatasetUnavailable(f"give the {dataset.name} file(s) with --file")
    folder = cache_dir / dataset.name
    out: list[Path] = []
    for source in dataset.sources:
        target = folder / source.name
        if not target.exists():
            if not download:
                raise DatasetUnavailable(
                    f"{source.name} is not cached in {folder}; give it with --file"
                )
            _download(source, target)
        out.append(target)
    return out


def _download(source: SourceFile, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response:
            partial.write_bytes(response.read())
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DatasetUnavailable(
            f"cannot download {source.url} ({exc}); download it yourself and give it with --file"
        ) from exc
    if _sha256(partial) != source.sha256:
        partial.unlink(missing_ok=True)
        raise DatasetUnavailable(f"{source.url} did not match its expected SHA-256; not used")
    partial.replace(target)


def load_dataset(
    name: str,
    files: Sequence[Path] = (),
    *,
    cache_dir: Path | None = None,
    download: bool = True,
) -> Frames:
    """Canonical (projects, snapshots) of a registered data set (see ``resolve_files``)."""
    dataset = get_dataset(name)
    if not files and not dataset.sources and dataset.cached_loader and cache_dir is not None:
        folder = cache_dir / dataset.name
        if not download and not any(folder.glob("*.csv")):
            raise DatasetUnavailable(f"{dataset.name} is not cached in {folder}; give --file")
        frames: Frames = _function(dataset.cached_loader)(cache_dir=folder)
        return frames
    paths = resolve_files(dataset, files, cache_dir=cache_dir, download=download)
    return dataset.load_function()(paths)

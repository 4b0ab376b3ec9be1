"""The built distributions hold what the package needs at run time, and no more.

Builds the sdist and, from it, the wheel, as ``python -m build`` does for a release, and compares
their file lists with the package's files in the source tree.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tarfile
import zipfile

import pytest

import flask_model_registry

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "flask_model_registry"


def is_cache(path: str) -> bool:
    return "__pycache__" in path.split("/") or path.endswith((".pyc", ".pyo"))


def source_files(folder: str) -> set[str]:
    """Files under ``folder`` as git tracks them (or as the tree has them, outside git)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--", folder], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        files = set(filter(None, listed.split("\0")))
    except (OSError, subprocess.CalledProcessError):
        files = {
            path.relative_to(ROOT).as_posix()
            for path in (ROOT / folder).rglob("*")
            if path.is_file()
        }
    return {path for path in files if not is_cache(path)}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def wheel_files(dist: pathlib.Path) -> set[str]:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def sdist_files(dist: pathlib.Path) -> set[str]:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        return {
            member.name.split("/", 1)[1] for member in archive.getmembers() if member.isfile()
        }


def test_the_wheel_holds_every_file_of_the_package(dist: pathlib.Path) -> None:
    expected = source_files(PACKAGE)
    assert f"{PACKAGE}/migrations/env.py" in expected
    assert f"{PACKAGE}/py.typed" in expected
    assert wheel_files(dist) == expected


def test_the_wheel_holds_no_tests_and_no_example_app(dist: pathlib.Path) -> None:
    outside = {path for path in wheel_files(dist) if not path.startswith(PACKAGE + "/")}
    assert outside == set()


def test_the_sdist_holds_the_package_the_example_app_and_the_tests(dist: pathlib.Path) -> None:
    files = sdist_files(dist)
    for folder in (PACKAGE, "example_app", "tests", "docs/examples", "scripts"):
        missing = source_files(folder) - files
        assert not missing, f"{folder}: {sorted(missing)}"
    assert {"README.md", "CHANGELOG.md", "pyproject.toml", "MANIFEST.in"} <= files
    assert not any(is_cache(path) for path in files)


def test_one_version_names_the_distributions(dist: pathlib.Path) -> None:
    version = flask_model_registry.__version__
    names = sorted(path.name for path in dist.iterdir())
    assert names == [
        f"flask_model_registry-{version}-py3-none-any.whl",
        f"flask_model_registry-{version}.tar.gz",
    ]
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"flask_model_registry-{version}.dist-info/METADATA").decode()
    assert f"\nVersion: {version}\n" in metadata
    assert "\nRequires-Python: >=3.11\n" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata

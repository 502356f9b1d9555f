"""The public namespace, and a wheel that works with no checkout nearby."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import calfdx

ROOT = Path(__file__).resolve().parents[1]


def test_all_matches_the_public_names() -> None:
    """Check __all__ is sorted, and lists exactly the public names the package defines."""
    assert list(calfdx.__all__) == sorted(calfdx.__all__, key=lambda n: (not n.isupper(), n))
    # Submodules imported by other tests (calfdx.cli, calfdx.fhir, calfdx.sklearn) are not names.
    submodules = {"cli", "fhir", "sklearn", "annotations"}
    public = {name for name in vars(calfdx) if not name.startswith("_")} - submodules
    assert public == set(calfdx.__all__) - {"__version__"}
    for name in calfdx.__all__:
        assert getattr(calfdx, name) is not None


def test_public_classes_show_the_public_module() -> None:
    """Check public classes present themselves as calfdx.X."""
    assert calfdx.Diagnosis.__module__ == "calfdx"
    assert calfdx.TableError.__module__ == "calfdx"


def test_errors_share_one_base() -> None:
    """Check every error class derives from CalfdxError and the input ones from ValueError."""
    errors = [getattr(calfdx, n) for n in calfdx.__all__ if n.endswith("Error")]
    assert all(issubclass(error, calfdx.CalfdxError) for error in errors)
    assert all(
        issubclass(error, ValueError) for error in errors if error is not calfdx.CalfdxError
    )


def test_old_vocabulary_names_warn_and_return_the_same_mapping() -> None:
    """Check Model.findings and calfdx.findings() still work, warn, and point at the caller."""
    model = calfdx.load_model()
    with pytest.warns(DeprecationWarning, match=r"use Model\.vocabulary") as record:
        old = model.findings
    assert old is model.vocabulary
    assert [warning.filename for warning in record] == [__file__]
    with pytest.warns(DeprecationWarning, match=r"removed in calfdx 0\.3; use calfdx\.vocabulary"):
        default = calfdx.findings()
    assert default is calfdx.vocabulary() is model.vocabulary
    local = model.with_setting("sports_clinic")
    with pytest.warns(DeprecationWarning, match=r"calfdx\.findings\(\) is deprecated") as record:
        given = calfdx.findings(local)
    assert given is calfdx.vocabulary(local) is local.vocabulary
    assert [warning.filename for warning in record] == [__file__]
    assert "findings" in calfdx.__all__
    assert "vocabulary" in calfdx.__all__
    assert ".. deprecated:: 0.2" in (calfdx.findings.__doc__ or "")


def test_calfdx_warning_is_deprecated_but_importable() -> None:
    """Check CalfdxWarning left the public names, and still imports with a warning."""
    from calfdx import _exceptions

    assert "CalfdxWarning" not in calfdx.__all__
    assert "CalfdxWarning" not in vars(calfdx)
    with pytest.warns(
        DeprecationWarning, match=r"never raised it; it will be removed in calfdx 0\.3"
    ) as record:
        warning_class = calfdx.CalfdxWarning
    assert warning_class is _exceptions.CalfdxWarning
    assert issubclass(warning_class, UserWarning)
    assert [warning.filename for warning in record] == [__file__]
    with pytest.warns(DeprecationWarning, match="never raised"):
        from calfdx import CalfdxWarning
    assert CalfdxWarning is warning_class
    with pytest.raises(AttributeError, match="module 'calfdx' has no attribute 'CalfdxWarnings'"):
        _ = calfdx.CalfdxWarnings  # type: ignore[attr-defined]


def test_package_is_typed() -> None:
    """Check py.typed ships with the package."""
    assert (Path(calfdx.__file__).parent / "py.typed").is_file()


@pytest.mark.slow
def test_wheel_installs_and_diagnoses_without_a_checkout(tmp_path: Path) -> None:
    """Build the wheel, install it into a fresh virtual environment and diagnose.

    The new environment sees the dependencies of this one (numpy, pandas, pgmpy...) but
    not this checkout, so calfdx and its tables must come from the wheel.
    """
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("calfdx-*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = (
        "import calfdx, json; m = calfdx.load_model(); "
        "print(json.dumps([calfdx.__file__, m.source, m.content_hash]))"
    )
    done = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    module_file, source, content_hash = json.loads(done.stdout)
    assert module_file.startswith(str(env))
    assert source.startswith(str(env))
    assert source.endswith(str(Path("calfdx", "data", "priors")))
    assert content_hash == calfdx.load_model().content_hash
    for table in (ROOT / "priors").glob("*.csv"):
        assert Path(source, table.name).read_bytes() == table.read_bytes()
    command = subprocess.run(
        [str(env / "bin" / "calfdx"), "diagnose", "--json", "swelling=yes", "side=unilateral"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(command.stdout) == json.loads(
        json.dumps(calfdx.diagnose(swelling="yes", side="unilateral").to_dict())
    )


def test_import_stays_light() -> None:
    """Check importing calfdx and diagnosing load none of the heavy machinery.

    pandas, pgmpy, scipy.stats, numba, dask, matplotlib, pyagrum, scikit-learn and
    fhir.resources are imported only when a function needs them (data frames, cohorts, the
    workbench, FHIR), so a service that imports calfdx to diagnose one patient at a time
    pays none of them. The one exception is numba, for the conflict check's compiled exact
    percentile: ``to_dict()`` (which holds the check) imports it once per process (about
    0.5 s, its compiled code cached on disk), and nothing else does.
    """
    heavy = [
        "pandas",
        "pgmpy",
        "scipy.stats",
        "numba",
        "dask",
        "matplotlib",
        "pyagrum",
        "sklearn",
        "fhir.resources",
        "pydantic",
    ]
    probe = (
        "import sys, json, calfdx; "
        "r = calfdx.diagnose(swelling='yes', side='unilateral'); "
        "r.explain(); r.next_questions(); r.triage; r.wells; str(r); "
        f"before = [m for m in {heavy!r} if m in sys.modules]; "
        "json.dumps(r.to_dict()); "
        f"print(json.dumps([before, [m for m in {heavy!r} if m in sys.modules]]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [[], ["numba"]]

"""scripts/prepare_cache.py (Binder's build step): what counts as a trained model, and bad chapters refused."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepare():
    spec = importlib.util.spec_from_file_location("prepare_cache", ROOT / "scripts" / "prepare_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(directory: Path, key: str, metadata: dict) -> None:
    (directory / key).mkdir()
    (directory / key / "manifest.json").write_text(json.dumps({"content": {"metadata": metadata}}))


def test_trained_networks_are_told_from_measurements(prepare, tmp_path):
    _entry(tmp_path, "vae", {"config": {"model": "vae"}, "history": {}, "train_seconds": 40.0})
    _entry(tmp_path, "judge", {"config": {"seed": 0}, "test_accuracy": 0.98, "train_seconds": 9.0})
    _entry(tmp_path, "claims", {"records": []})
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    assert prepare.trained_models(tmp_path) == {"vae", "judge"}


def test_the_prepared_chapters_exist_and_a_bad_one_is_refused_before_any_work(prepare, capsys):
    assert all(prepare.chapter_path(n).exists() for n in prepare.PREPARED)
    assert prepare.LEFT_OUT == ("12", "13") and not set(prepare.LEFT_OUT) & set(prepare.PREPARED)  # see the docstring
    assert all(prepare.chapter_path(n).exists() for n in prepare.LEFT_OUT)
    with pytest.raises(SystemExit, match="no chapter numbered '99'"):
        prepare.main(["--check", "06,99"])


def test_postbuild_runs_the_script_with_its_arguments():
    text = (ROOT / "postBuild").read_text()
    assert text.startswith("#!/usr/bin/env bash") and 'python scripts/prepare_cache.py "$@"' in text
    assert (ROOT / "postBuild").stat().st_mode & 0o111

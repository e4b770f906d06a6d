"""vaelib._runtime.host pins the CPU paths that decide the numbers; vaelib.probe digests what they compute."""

import json
import os
import subprocess
import sys

import pytest

from vaelib._runtime import cache, host

# These tests pin again in a process that has NumPy already: that warning is expected here (and
# checked in a fresh process below).
pytestmark = pytest.mark.filterwarnings("ignore:numpy was imported before vaelib:vaelib._runtime.host.HostPinWarning")


@pytest.fixture
def clean_environment(monkeypatch):
    for name in [*host.PINNED, "NPY_DISABLE_CPU_FEATURES", host.PIN_SWITCH]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_pin_sets_every_variable(clean_environment):
    pinned = host.pin()
    for name, value in pinned.items():
        assert os.environ[name] == value
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_max_isa=AVX2" and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_pin_keeps_other_xla_flags_and_warns_on_a_replaced_value(clean_environment):
    clean_environment.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX512")
    clean_environment.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
    with pytest.warns(host.HostPinWarning) as warned:
        host.pin()
    messages = " ".join(str(w.message) for w in warned)
    assert "ONEDNN_MAX_CPU_ISA='AVX512_CORE' replaced by 'AVX2'" in messages
    assert "--xla_cpu_max_isa=AVX512' replaced by" in messages
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX2"
    assert os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_pin_can_be_switched_off(clean_environment):
    clean_environment.setenv(host.PIN_SWITCH, "0")
    assert host.pin() == {}
    assert "ONEDNN_MAX_CPU_ISA" not in os.environ


def test_numpy_features_are_disabled_only_where_the_cpu_has_them():
    assert "NPY_DISABLE_CPU_FEATURES" not in host.pinned_environment({"avx2", "fma"})
    avx512 = host.pinned_environment({"avx2", "avx512f", "avx512_vbmi2"})["NPY_DISABLE_CPU_FEATURES"].split()
    assert "X86_V4" in avx512 and "AVX512_ICL" in avx512 and "AVX512_SPR" not in avx512


def test_effective_pin_is_part_of_every_cache_key(clean_environment):
    host.pin()
    pinned_key = cache.entry_key("trained_model", {"seed": 0}, "data", "source")
    clean_environment.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE")
    assert cache.entry_key("trained_model", {"seed": 0}, "data", "source") != pinned_key


def test_probe_repeats_in_fresh_processes():
    """Same code, same host, same pin: the same digest in two processes (a few seconds each)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    runs = [json.loads(subprocess.run([sys.executable, "-m", "vaelib.probe"], env=env, capture_output=True, text=True,
                                      check=True, timeout=600).stdout) for _ in range(2)]
    assert runs[0]["digest"] == runs[1]["digest"] and runs[0]["parts"] == runs[1]["parts"]
    assert set(runs[0]["parts"]) == {"xla_training", "graph_training", "evaluation", "numpy"}
    assert runs[0]["host"]["pin"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_importing_numpy_first_is_reported():
    env = {name: value for name, value in os.environ.items() if name not in host.pinned_environment()}
    env.pop(host.PIN_SWITCH, None)
    done = subprocess.run([sys.executable, "-c", "import numpy, vaelib"], env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    if "NPY_DISABLE_CPU_FEATURES" in host.pinned_environment() or "OPENBLAS_CORETYPE" in host.PINNED:
        assert "numpy was imported before vaelib" in done.stderr
    done = subprocess.run([sys.executable, "-c", "import vaelib, numpy"], env=env, capture_output=True, text=True,
                          check=True, timeout=120)
    assert "HostPinWarning" not in done.stderr

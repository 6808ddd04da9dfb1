"""The blind-slice workflow of issue 9's benchmark, as code (stop 67): the gatherers' brief and its
label vocabulary live in bench/gather_brief.py, and a new slice is measured once, from its own
manifest, before it is registered (``detection_quality.py --measure SLICE --dump PATH``)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import yaml

from bench_logs import manifests
from trained_logistic import imbalanced_logistic_log

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _module(name):
    spec = importlib.util.spec_from_file_location(f"stop67_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while being built
    spec.loader.exec_module(mod)
    return mod


def test_the_label_vocabulary_is_lrdoctor_kinds_and_covers_every_label_in_the_manifests():
    from lrdoctor.detect import all_kinds

    gb = _module("gather_brief")
    assert set(gb.LABEL_KINDS) <= set(all_kinds())
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader: 960 manifests in seconds
    used = {k["kind"] for m in manifests() for e in yaml.load(m.read_text(), Loader=loader) or [] for k in e.get("kinds") or []}
    assert used and used <= set(gb.LABEL_KINDS), sorted(used - set(gb.LABEL_KINDS))
    text = gb.brief("fresh9999", "a theme", "12:30", calls=17)
    assert all(f"`{k}`" in text for k in gb.LABEL_KINDS)
    assert "manifest_fresh9999.yaml" in text and "**17** calls" in text and "12:30 UTC" in text


def test_the_brief_refuses_a_slice_name_already_taken():
    taken = next(iter(manifests())).stem.removeprefix("manifest_")
    out = subprocess.run([sys.executable, str(BENCH / "gather_brief.py"), taken, "t", "12:00"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 2 and "already exists" in out.stderr and not out.stdout


def _entry(slice_name, run_id, label, kinds):
    return {"id": run_id, "file": f"{slice_name}/{run_id}/log.csv", "slice": slice_name, "label": label,
            "kinds": [{"kind": k, "onset": 20.0} for k in kinds], "source": "trained here", "licence": "test"}


def test_a_new_slice_is_measured_once_from_its_own_manifest_and_dumped_log_by_log(tmp_path):
    """A slice not in SLICES is measured when named, and only it: a registered slice's manifest in the
    same folder is not read. The dump holds each log's label and both tools' findings."""
    for slice_name, run_id, lr in (("blindx", "stuck", 1e-6), ("blindx", "trained", 0.5), ("tuning", "other", 0.5)):
        (tmp_path / slice_name / run_id).mkdir(parents=True)
        imbalanced_logistic_log(tmp_path / slice_name / run_id / "log.csv", lr)
    (tmp_path / "manifest_blindx.yaml").write_text(yaml.safe_dump(
        [_entry("blindx", "stuck", "unhealthy", ["slow_progress"]), _entry("blindx", "trained", "healthy", [])]))
    (tmp_path / "manifest_tuning.yaml").write_text(yaml.safe_dump([_entry("tuning", "other", "healthy", [])]))
    dump = tmp_path / "out.jsonl"
    cmd = [sys.executable, str(BENCH / "detection_quality.py"), "--logs", str(tmp_path)]
    out = subprocess.run(cmd + ["--measure", "blindx", "--dump", str(dump)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert "### lrdoctor, blindx: 2 logs (1 healthy/edge)" in out.stdout
    assert "precision 1.00  recall 1.00  cases passed 2/2" in out.stdout
    lines = {d["id"]: d for d in map(json.loads, dump.read_text().splitlines())}
    assert set(lines) == {"stuck", "trained"}
    assert lines["stuck"]["label"] == "unhealthy" and lines["stuck"]["kinds"] == {"slow_progress": 20.0}
    assert "slow_progress" in lines["stuck"]["lrdoctor"]["errors"]
    assert lines["trained"]["lrdoctor"]["predicted"] == {} and not lines["trained"]["lrdoctor"]["failed"]
    # unregistered and not named: never read (a half-gathered slice reaches no figure)
    plain = subprocess.run(cmd + ["--dump", str(dump)], capture_output=True, text=True, timeout=120, check=False)
    assert plain.returncode == 0 and "blindx" not in plain.stdout
    assert [json.loads(x)["id"] for x in dump.read_text().splitlines()] == ["other"]
    bad = subprocess.run(cmd + ["--measure", "nosuch"], capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2 and "no manifest_nosuch.yaml" in bad.stderr
    nowhere = subprocess.run(cmd[:2] + ["--logs", str(tmp_path / "nowhere")], capture_output=True, text=True,
                             timeout=60, check=False)
    assert nowhere.returncode == 2 and "not a folder" in nowhere.stderr

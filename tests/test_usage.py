"""S10: `autoposter local-cloud VIDEO --out DIR` writes DIR/usage.json — what the run would cost on
AWS (arm64 list prices) — and the re-cut flow meets issue 7's figures on the bundled sample."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def usage(tmp_path_factory, sample_video):
    out = tmp_path_factory.mktemp("cloud") / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "shared")}
    r = subprocess.run([sys.executable, "-m", "autoposter.cli", "local-cloud", str(sample_video), "--out", str(out),
                        "--title", "Pioneers of Computing", "--link", "https://example.com/watch/pioneers"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "per video-minute" in r.stdout and (out / "manifest.json").is_file()
    return json.loads((out / "usage.json").read_text())


def test_usage_report_has_every_part(usage):
    assert usage["architecture"] == "arm64"
    assert set(usage["lambda"]) == {"extract_frames", "analyse", "publish"}
    for fn, row in usage["lambda"].items():
        assert row["invocations"] >= 1 and row["gb_s"] > 0 and row["init_s"] > 0 and row["memory_mb"] >= 128
    assert usage["step_functions"]["standard_transitions"] >= 3 and usage["step_functions"]["children"] >= 1
    assert usage["s3"]["by_function"]["publish"]["PutObject"] == usage["posters_published"] + 2   # + gallery, manifest
    assert set(usage["prices"]) >= {"lambda_gb_s", "sfn_standard_transition", "s3_put_class", "s3_get_class"}
    assert abs(sum(usage["cost_usd"].values()) - usage["cost_per_video_usd"]) < 1e-6


def test_the_sample_meets_the_waste_targets(usage):
    assert usage["posters_rendered"] <= 1.2 * usage["posters_published"] and usage["posters_published"] >= 10
    assert usage["s3"]["get_per_frame"] <= 1.5
    assert usage["transitions_per_frame"] <= 0.5
    assert usage["s3"]["put_class"] <= usage["posters_published"] + 2 + 2 * usage["batches"]   # nothing else written


@pytest.mark.skipif(sys.version_info[:2] != (3, 13),
                    reason="the cost target is stated for Lambda's runtime, python3.13: durations measured under "
                           "another interpreter are not Lambda's (3.11 measures ~20 % slower here)")
def test_the_sample_costs_at_most_a_tenth_of_a_cent_per_video_minute(usage):
    assert usage["cost_per_video_minute_usd"] <= 0.001, usage["cost_per_video_minute_parts_usd"]

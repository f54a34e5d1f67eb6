"""``python -m vse_foley.cli``: progress on stderr, the written path as the last stdout line, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from providers_testkit import FAST_POLLS

from vse_foley import cli
from vse_foley.providers import PROVIDER_IDS, one_shot, polling

ROOT = Path(__file__).resolve().parents[3]


def _subprocess_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vse_foley.cli", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The CLI in-process (fast); same argv, environment, streams and exit code as ``python -m``."""

    def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        monkeypatch.setattr(cli.os, "environ", dict(env))
        monkeypatch.setattr(polling, "DEFAULT_POLL_SCHEDULE", FAST_POLLS)  # the real one starts at 1 s
        capsys.readouterr()
        code = cli.main(args)
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run


def test_python_dash_m_entry_point(emu, clip, tmp_path: Path):
    video = clip(4.0)
    result = _subprocess_cli(
        [
            "generate",
            "--provider",
            "wavespeed.think-sound",
            "--video",
            str(video),
            "--prompt",
            "rain",
            "--seed",
            "42",
            "--out",
            str(tmp_path / "rain.mp3"),
        ],
        emu.environ(),
    )
    assert result.returncode == 0, result.stderr
    written = Path(result.stdout.strip().splitlines()[-1])
    assert written == tmp_path / "rain.wav" and written.exists()  # the real format decides the extension
    assert "uploading the clip" in result.stderr and "wrote wav, 4.00 s" in result.stderr
    body = next(r.json for r in emu.requests if r.kind == "submit")
    assert body["seed"] == 42 and body["prompt"] == "rain" and body["video"].startswith("http")


def test_generate_timed_events_and_options(emu, run_cli, tmp_path: Path):
    result = run_cli(
        [
            "generate",
            "--provider",
            "vidu.timing2audio",
            "--event",
            "0:1.5:door slam",
            "--event",
            "1:4:rain on a tin roof",
            "--duration",
            "4",
            "--out",
            str(tmp_path / "v"),
        ],
        emu.environ(),
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]) == tmp_path / "v.wav"
    body = next(r.json for r in emu.requests if r.kind == "submit")
    assert body["timing_prompts"][1] == {"from": 1, "to": 4, "prompt": "rain on a tin roof"}
    assert "seed" not in body  # -1 (random) is sent as "absent"


def test_generate_kling_with_asmr_and_bgm(emu, run_cli, clip, tmp_path: Path):
    result = run_cli(
        [
            "generate",
            "--provider",
            "kling.video-to-audio",
            "--video",
            str(clip(5.0)),
            "--prompt",
            "steps",
            "--bgm-prompt",
            "soft piano",
            "--asmr",
            "--out",
            str(tmp_path / "k.wav"),
        ],
        emu.environ(),
    )
    assert result.returncode == 0, result.stderr
    body = next(r.json for r in emu.requests if r.kind == "submit")
    assert (
        body["asmr_mode"] is True
        and body["bgm_prompt"] == "soft piano"
        and body["sound_effect_prompt"] == "steps"
    )
    assert body["external_task_id"].startswith("vsefoley-")


def test_failure_prints_the_sentence_and_exits_non_zero(emu, run_cli, tmp_path: Path):
    env = {k: v for k, v in emu.environ().items() if k != "VIDU_API_KEY"}
    result = run_cli(
        ["generate", "--provider", "vidu.text2audio", "--prompt", "x", "--out", str(tmp_path / "a")], env
    )
    assert result.returncode == cli.EXIT_FAILED
    assert "Set VIDU_API_KEY" in result.stderr and result.stdout == ""


def test_uncertain_submit_has_its_own_exit_code(emu, run_cli, tmp_path: Path):
    emu.inject("vidu", "drop_submit_response")
    result = run_cli(
        [
            "generate",
            "--provider",
            "vidu.text2audio",
            "--prompt",
            "x",
            "--duration",
            "3",
            "--out",
            str(tmp_path / "a"),
        ],
        emu.environ(),
    )
    assert result.returncode == cli.EXIT_UNCERTAIN, result.stderr
    assert "paying twice" in result.stderr


def test_unknown_option_is_rejected_before_anything_is_sent(emu, run_cli, tmp_path: Path):
    result = run_cli(
        [
            "generate",
            "--provider",
            "flexstack.audiogen",
            "--prompt",
            "x",
            "--option",
            "top_z=1",
            "--out",
            str(tmp_path / "a"),
        ],
        emu.environ(),
    )
    assert result.returncode == cli.EXIT_FAILED and "has no option 'top_z'" in result.stderr
    assert emu.requests == []


@pytest.mark.parametrize("argv", [["generate"], ["generate", "--provider", "nope", "--out", "x"]])
def test_usage_errors(argv):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == cli.EXIT_USAGE


def test_providers_lists_every_id(capsys):
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    assert [line.split("\t")[0] for line in out.strip().splitlines()] == list(PROVIDER_IDS)
    assert "KLING_ACCESS_KEY" in out and "VIDU_API_KEY" in out


def test_help_documents_the_extension_rule(capsys):
    with pytest.raises(SystemExit):
        cli.main(["generate", "--help"])
    assert "extension is replaced by the real one" in capsys.readouterr().out


def _kling_args(clip, tmp_path: Path) -> list[str]:
    return [
        "generate",
        "--provider",
        "kling.video-to-audio",
        "--video",
        str(clip(5.0)),
        "--prompt",
        "steps",
        "--out",
        str(tmp_path / "k.wav"),
    ]


@pytest.fixture
def fast_lookups(monkeypatch: pytest.MonkeyPatch):
    """The CLI's lookup of a lost submit, on a schedule of milliseconds (the real one is 5 minutes)."""
    from vse_foley.providers.recovery import LookupSchedule

    schedule = LookupSchedule(first=0.005, factor=2.0, maximum=0.02, window=0.1)
    monkeypatch.setattr(one_shot, "schedule_for", lambda provider: schedule)
    return schedule


def test_lost_kling_answer_is_found_and_the_cli_succeeds(emu, run_cli, clip, fast_lookups, tmp_path: Path):
    emu.inject("kling", "lose_submit_answer", status=504)
    emu.inject("kling", "lookup_lag", lookups=2)
    result = run_cli(_kling_args(clip, tmp_path), emu.environ())
    assert result.returncode == cli.EXIT_OK, result.stderr
    assert "looking the task up" in result.stderr and "never resent" in result.stderr
    assert emu.tasks_created("kling") == 1 and sum(1 for r in emu.requests if r.kind == "submit") == 1


def test_lost_kling_answer_never_found_exits_3_with_the_external_id(
    emu, run_cli, clip, fast_lookups, tmp_path: Path
):
    emu.inject("kling", "lose_submit_answer", status=0)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    result = run_cli(_kling_args(clip, tmp_path), emu.environ())
    assert result.returncode == cli.EXIT_UNCERTAIN == 3, result.stderr
    external = next(r.json for r in emu.requests if r.kind == "submit")["external_task_id"]
    assert external in result.stderr and "may have been charged" in result.stderr
    assert "Kling AI developer console" in result.stderr and result.stdout == ""
    assert emu.tasks_created("kling") == 1 and sum(1 for r in emu.requests if r.kind == "submit") == 1


def test_generate_json_prints_the_figures_and_flags(emu, run_cli, tmp_path: Path):
    import json

    emu.inject("vidu", "result_level", gain_db=14.0, silent_from=1.0, silent_seconds=1.5)
    result = run_cli(
        ["generate", "--provider", "vidu.text2audio", "--prompt", "thunder", "--duration", "4",
         "--out", str(tmp_path / "t"), "--json"],
        emu.environ(),
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(figures["path"]) == tmp_path / "t.wav"
    assert figures["analysis"]["lufs"] is not None and figures["analysis"]["sample_peak_dbfs"] == 0.0
    assert figures["analysis"]["flags"] == ["silent for 1.5 s from 00:01", "clips at 0 dBFS"]

    measured = run_cli(["measure", figures["path"], "--json", "--scene-rate", "48000"], {})
    again = json.loads(measured.stdout)
    assert measured.returncode == 0 and again["lufs"] == figures["analysis"]["lufs"]
    assert "44100 Hz (the scene mixes at 48000 Hz)" in again["flags"]
    plain = run_cli(["measure", figures["path"]], {})
    assert "LUFS" in plain.stdout and "clips at 0 dBFS" in plain.stdout


def test_measure_says_what_is_wrong_with_a_missing_file(run_cli, tmp_path: Path):
    result = run_cli(["measure", str(tmp_path / "nope.wav")], {})
    assert result.returncode == 1 and "does not exist" in result.stderr


# -- --any-host (issue 14 item 6) ------------------------------------------------------------------


@pytest.fixture
def fast_hosts(monkeypatch: pytest.MonkeyPatch):
    """The CLI's providers with the tests' short waits between re-sends (the real first wait is 1 s)."""
    from providers_testkit import FAST

    from vse_foley.providers import create_provider

    monkeypatch.setattr(cli, "create_provider", lambda pid, prefs, env: create_provider(pid, prefs, env,
                                                                                         tuning=FAST))
    return FAST.submit_retries + 1


def _mmaudio(clip, tmp_path: Path, *extra: str) -> list[str]:
    return ["generate", "--provider", "wavespeed.mmaudio-v2", "--video", str(clip(5.0)), "--prompt", "rain",
            "--out", str(tmp_path / "rain.wav"), *extra]


def test_any_host_makes_it_on_the_next_host_after_a_proven_refusal(emu, run_cli, clip, fast_hosts, tmp_path):
    emu.inject("wavespeed", "unavailable", count=fast_hosts)
    result = run_cli(_mmaudio(clip, tmp_path, "--any-host"), emu.environ())
    assert result.returncode == cli.EXIT_OK, result.stderr
    assert Path(result.stdout.strip().splitlines()[-1]).is_file()
    assert "Made by fal.ai; WaveSpeed was unavailable" in result.stderr
    assert emu.tasks_created("wavespeed") == 0 and emu.tasks_created("fal") == 1


def test_without_any_host_the_refusal_ends_the_run(emu, run_cli, clip, fast_hosts, tmp_path):
    emu.inject("wavespeed", "unavailable", count=fast_hosts)
    result = run_cli(_mmaudio(clip, tmp_path), emu.environ())
    assert result.returncode == cli.EXIT_FAILED and "nothing was created" in result.stderr
    assert not any(r.vendor == "fal" and r.kind == "submit" for r in emu.requests)


def test_any_host_never_moves_after_an_uncertain_answer(emu, run_cli, clip, fast_hosts, tmp_path):
    emu.inject("wavespeed", "lose_submit_answer", on="submit", status=502)
    result = run_cli(_mmaudio(clip, tmp_path, "--any-host"), emu.environ())
    assert result.returncode == cli.EXIT_UNCERTAIN, result.stderr
    assert emu.tasks_created("wavespeed") == 1
    assert not any(r.vendor == "fal" and r.kind == "submit" for r in emu.requests)

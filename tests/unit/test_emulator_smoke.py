"""Smoke tests of the vendor emulator, spoken to with plain ``requests``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from devtools.emulator import EmulatorKeys, VendorEmulator
from devtools.emulator.audio import mp4_duration, wav_duration

KEYS = EmulatorKeys()
WS_AUTH = {"Authorization": f"Bearer {KEYS.wavespeed}"}
VIDU_AUTH = {"Authorization": f"Token {KEYS.vidu}"}


def tiny_mp4(seconds: float, timescale: int = 1000) -> bytes:
    """ftyp + moov/mvhd (version 0) + an empty mdat: enough to carry a duration."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    mvhd = (
        bytes(4)  # version 0, flags
        + struct.pack(">IIII", 0, 0, timescale, round(seconds * timescale))
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate, volume, reserved
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)  # matrix
        + bytes(24)  # pre_defined
        + struct.pack(">I", 2)  # next_track_ID
    )
    return (
        box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + box(b"moov", box(b"mvhd", mvhd))
        + box(b"mdat", bytes(32))
    )


def kling_token(ak: str = KEYS.kling_access, sk: str = KEYS.kling_secret, **claims: Any) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = claims.pop("_header", None) or {"alg": "HS256", "typ": "JWT"}
    now = int(time.time())
    payload = {"iss": ak, "exp": now + 1800, "nbf": now - 5, **claims}
    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(sk.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(signature)}"


@pytest.fixture
def emu() -> Iterator[VendorEmulator]:
    with VendorEmulator(keys=KEYS, task_seconds=0.0, min_polls=1) as emulator:
        yield emulator


def upload_clip(emu: VendorEmulator, seconds: float) -> str:
    files = {"file": ("clip.mp4", tiny_mp4(seconds), "video/mp4")}
    response = requests.post(
        f"{emu.base_url('wavespeed')}/api/v3/media/upload/binary", headers=WS_AUTH, files=files, timeout=5
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 200 and body["data"]["type"] == "video"
    return str(body["data"]["download_url"])


def test_mvhd_parser_reads_the_duration() -> None:
    assert mp4_duration(tiny_mp4(7.5)) == pytest.approx(7.5)
    assert mp4_duration(b"not an mp4") is None


def test_wavespeed_upload_submit_poll_download(emu: VendorEmulator) -> None:
    clip_url = upload_clip(emu, 5.0)
    assert requests.get(clip_url, timeout=5).content == tiny_mp4(5.0)

    base = emu.base_url("wavespeed")
    response = requests.post(
        f"{base}/api/v3/wavespeed-ai/think-sound",
        headers=WS_AUTH,
        json={"video": clip_url, "seed": -1},
        timeout=5,
    )
    body = response.json()
    assert response.status_code == 200 and body["code"] == 200
    assert body["data"]["status"] == "created" and body["data"]["outputs"] == []
    result = requests.get(body["data"]["urls"]["get"], headers=WS_AUTH, timeout=5).json()["data"]
    assert result["status"] == "completed" and result["error"] == ""
    audio = requests.get(result["outputs"][0], timeout=5)
    assert audio.content[:4] == b"RIFF"
    assert int(audio.headers["Content-Length"]) == len(audio.content)
    assert wav_duration(audio.content) == pytest.approx(5.0)
    assert emu.submit_count("wavespeed") == 1

    missing = requests.post(f"{base}/api/v3/wavespeed-ai/think-sound", headers=WS_AUTH, json={}, timeout=5)
    assert missing.status_code == 400 and missing.json()["code"] == 1400
    bad = requests.post(
        f"{base}/api/v3/wavespeed-ai/mmaudio-v2",
        headers=WS_AUTH,
        json={"video": clip_url, "prompt": "rain", "duration": 31},
        timeout=5,
    )
    assert bad.status_code == 400 and bad.json()["code"] == 1401
    assert requests.get(f"{base}/api/v3/predictions/x/result", timeout=5).status_code == 401


def test_kling_create_query_by_external_id_and_download(emu: VendorEmulator) -> None:
    clip_url = upload_clip(emu, 6.0)
    base = emu.base_url("kling")
    auth = {"Authorization": f"Bearer {kling_token()}"}
    create = {"video_url": clip_url, "sound_effect_prompt": "footsteps", "external_task_id": "job-1"}
    response = requests.post(f"{base}/v1/audio/video-to-audio", headers=auth, json=create, timeout=5)
    body = response.json()
    assert response.status_code == 200 and body["code"] == 0, body
    assert body["data"]["task_status"] == "submitted"
    assert body["data"]["task_info"]["external_task_id"] == "job-1"

    data = requests.get(f"{base}/v1/audio/video-to-audio/job-1", headers=auth, timeout=5).json()["data"]
    assert data["task_id"] == body["data"]["task_id"] and data["task_status"] == "succeed"
    track = data["task_result"]["audios"][0]
    assert track["duration_wav"] == "6.0" and isinstance(track["duration_mp3"], str)
    assert wav_duration(requests.get(track["url_wav"], timeout=5).content) == pytest.approx(6.0)
    assert requests.get(track["url_mp3"], timeout=5).content[:2] == b"\xff\xfb"

    listed = requests.get(
        f"{base}/v1/audio/video-to-audio?pageNum=1&pageSize=30", headers=auth, timeout=5
    ).json()
    assert [t["task_id"] for t in listed["data"]] == [data["task_id"]]

    # A repeated external_task_id: the document does not promise a refusal, so by default the
    # emulator takes the unkind reading (issue 9) and makes a second paid task; "refuse" is the kind one.
    duplicate = requests.post(f"{base}/v1/audio/video-to-audio", headers=auth, json=create, timeout=5)
    assert (duplicate.status_code, duplicate.json()["code"]) == (200, 0)
    assert emu.tasks_created("kling") == 2
    emu.kling_duplicate_ids = "refuse"
    try:
        refused = requests.post(f"{base}/v1/audio/video-to-audio", headers=auth, json=create, timeout=5)
    finally:
        emu.kling_duplicate_ids = "accept"
    assert (refused.status_code, refused.json()["code"]) == (400, 1201)
    too_short = {"video_url": upload_clip(emu, 2.0)}
    short = requests.post(f"{base}/v1/audio/video-to-audio", headers=auth, json=too_short, timeout=5)
    assert (short.status_code, short.json()["code"]) == (400, 1201)
    assert emu.submit_count("kling") == 2


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        # made when the test runs, not when it is collected: a time-bound token built at collection
        # is no longer "not yet valid" once a long suite reaches it
        (lambda: "", 1001),
        (lambda: "Bearer not-a-jwt", 1002),
        (lambda: f"Bearer {kling_token(_header={'alg': 'none', 'typ': 'JWT'})}", 1002),
        (lambda: f"Bearer {kling_token(sk='wrong-secret')}", 1000),
        (lambda: f"Bearer {kling_token(ak='someone-else')}", 1000),
        (lambda: f"Bearer {kling_token(exp=int(time.time()) - 10)}", 1004),
        (lambda: f"Bearer {kling_token(nbf=int(time.time()) + 600)}", 1003),
    ],
    ids=["none", "not-a-jwt", "alg-none", "wrong-secret", "other-key", "expired", "not-yet-valid"],
)
def test_kling_rejects_bad_jwts(emu: VendorEmulator, authorization: Callable[[], str], code: int) -> None:
    token = authorization()
    headers = {"Authorization": token} if token else {}
    response = requests.get(f"{emu.base_url('kling')}/v1/audio/video-to-audio/1", headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_vidu_states_and_signed_result_url() -> None:
    with VendorEmulator(keys=KEYS, task_seconds=0.0, min_polls=3) as emu:
        base = emu.base_url("vidu")
        payload = {"model": "audio1.0", "prompt": "rain on a tin roof", "duration": 4.5, "seed": 0}
        created = requests.post(
            f"{base}/ent/v2/text2audio", headers=VIDU_AUTH, json=payload, timeout=5
        ).json()
        assert created["state"] == "created" and created["duration"] == 4.5 and created["seed"] != 0
        states = []
        for _ in range(3):
            poll = requests.get(
                f"{base}/ent/v2/tasks/{created['task_id']}/creations", headers=VIDU_AUTH, timeout=5
            )
            states.append(poll.json()["state"])
        assert states == ["queueing", "processing", "success"]
        url = poll.json()["creations"][0]["url"]
        assert "X-Amz-Signature=" in url
        assert wav_duration(requests.get(url, timeout=5).content) == pytest.approx(4.5)

        late = {
            "model": "audio1.0",
            "duration": 5,
            "timing_prompts": [{"from": 1, "to": 6, "prompt": "door"}],
        }
        rejected = requests.post(f"{base}/ent/v2/timing2audio", headers=VIDU_AUTH, json=late, timeout=5)
        assert rejected.status_code == 400 and rejected.json()["code"] == "FieldInvalid"
        unknown = requests.get(f"{base}/ent/v2/tasks/nope/creations", headers=VIDU_AUTH, timeout=5)
        assert unknown.status_code == 404 and unknown.json()["reason"] == "TaskNotFound"


@pytest.mark.parametrize("shape", ["celery", "state_list", "nested", "lowercase"])
def test_flexstack_login_create_result_and_refresh(shape: str) -> None:
    with VendorEmulator(keys=KEYS, flexstack_result_shape=shape) as emu:
        base = emu.base_url("flexstack")
        assert base.endswith("/flexstack/v1")
        login = requests.post(
            f"{base}/user/login", auth=(KEYS.flexstack_username, KEYS.flexstack_password), timeout=5
        )
        tokens = login.json()["data"]
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        payload = {"prompt": "motorcycle engine", "configs": {"model": "audiogen", "duration": 3}}
        created = requests.post(f"{base}/ai/audio_generation", headers=auth, json=payload, timeout=5).json()
        assert created["data"]["config"]["task_name"] == "tasks.parrot_t2s_task" and created["errors"] == []
        result = requests.get(
            f"{base}/ai/audio_generation/{created['data']['task_id']}", headers=auth, timeout=5
        )
        urls = [u for u in _strings(result.json()) if u.startswith("http") and u.endswith(".wav")]
        assert len(urls) == 1
        assert wav_duration(requests.get(urls[0], timeout=5).content) == pytest.approx(3.0)

        emu.flexstack_token_ttl = 0.0
        form = {"refresh_token": tokens["refresh_token"]}
        # Like the official SDK: the form plus the current access token as Bearer (issue 9).
        bare = requests.post(f"{base}/user/refresh_token", data=form, timeout=5)
        assert bare.status_code == 401
        expiring = requests.post(f"{base}/user/refresh_token", headers=auth, data=form, timeout=5)
        stale = {"Authorization": f"Bearer {expiring.json()['data']['access_token']}"}
        assert (
            requests.post(f"{base}/ai/audio_generation", headers=stale, json=payload, timeout=5).status_code
            == 401
        )
        static = {"Authorization": f"Bearer {KEYS.flexstack_token}"}
        assert requests.post(f"{base}/ai/audio_generation", headers=static, json=payload, timeout=5).ok


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_faults_rate_limit_dropped_submit_truncation_and_failure(emu: VendorEmulator) -> None:
    base = emu.base_url("vidu")
    payload = {"model": "audio1.0", "prompt": "thunder", "duration": 2}
    emu.inject("vidu", "http_429", retry_after=2)
    limited = requests.post(f"{base}/ent/v2/text2audio", headers=VIDU_AUTH, json=payload, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["code"] == "TooManyRequests"
    assert emu.submit_count("vidu") == 0

    emu.inject("vidu", "drop_submit_response")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{base}/ent/v2/text2audio", headers=VIDU_AUTH, json=payload, timeout=5)
    assert emu.submit_count("vidu") == 1 and len(emu.tasks) == 1

    emu.inject("vidu", "truncate_download")
    task_id = next(iter(emu.tasks))
    poll = requests.get(f"{base}/ent/v2/tasks/{task_id}/creations", headers=VIDU_AUTH, timeout=5).json()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(poll["creations"][0]["url"], timeout=5)

    emu.inject("vidu", "task_fail", err_code="AudioGenerationFailed")
    failing = requests.post(f"{base}/ent/v2/text2audio", headers=VIDU_AUTH, json=payload, timeout=5).json()
    status = requests.get(f"{base}/ent/v2/tasks/{failing['task_id']}/creations", headers=VIDU_AUTH, timeout=5)
    assert status.json()["state"] == "failed" and status.json()["err_code"] == "AudioGenerationFailed"
    assert [r.kind for r in emu.requests] == ["submit", "submit", "poll", "download", "submit", "poll"]
    assert emu.pending_faults == []


def test_wait_for_submits_wakes_when_a_slow_submit_makes_its_task(emu: VendorEmulator) -> None:
    import threading

    assert emu.wait_for_submits("vidu", 1, timeout=0.01) is False  # nothing sent: the timeout says so
    emu.inject("vidu", "slow", on="submit", delay=0.2)
    payload = {"model": "audio1.0", "prompt": "rain on a tin roof", "duration": 2, "seed": 0}
    sender = threading.Thread(target=lambda: requests.post(
        f"{emu.base_url('vidu')}/ent/v2/text2audio", headers=VIDU_AUTH, json=payload, timeout=5))
    sender.start()
    try:
        assert emu.wait_for_submits("vidu", 1, timeout=5.0) is True
        assert emu.submit_count("vidu") == 1 and emu.wait_for_submits("vidu", 2, timeout=0.01) is False
    finally:
        sender.join(timeout=5)

"""Issue 11, item 4: a broken or hostile vendor can neither fill memory nor hang a request.

A small hostile server on 127.0.0.1 (``devtools/emulator/hostile.py``) sends an
endless body, a gzip bomb, a trickle, and redirects to plain http elsewhere;
the limits are made small here, so every case ends within a fraction of a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from providers_testkit import FAST

from devtools.emulator import VendorEmulator
from devtools.emulator.hostile import HostileVendor
from vse_foley.providers import create_provider
from vse_foley.providers.base import VendorTask
from vse_foley.providers.deadline import request_deadline
from vse_foley.providers.download import download_audio
from vse_foley.providers.errors import CancelledError, DownloadError, FoleyError
from vse_foley.providers.http import AnswerTooLargeError, SlowAnswerError, VendorHttp, path_segment

TUNING = replace(FAST, read_timeout=0.4, retries=3, backoff=0.01)


@pytest.fixture
def bad() -> Iterator[HostileVendor]:
    with HostileVendor(trickle_interval=0.02, trickle_length=2000, bomb_bytes=32 * 1024 * 1024,
                       endless_limit=64 * 1024 * 1024) as server:
        yield server


@pytest.fixture
def http() -> Iterator[VendorHttp]:
    client = VendorHttp("Hostile", TUNING)
    client.max_answer_bytes = 1024 * 1024
    yield client
    client.close()


def test_an_endless_answer_stops_at_the_cap_without_a_retry(bad: HostileVendor, http: VendorHttp):
    with pytest.raises(AnswerTooLargeError, match="larger than 1 MB"):
        http.request("GET", bad.url("/endless"))
    assert bad.paths == ["/endless"]  # asked once: too large is not worth asking again


def test_a_gzip_bomb_is_capped_after_decompression(bad: HostileVendor, http: VendorHttp):
    assert len(bad.bomb) < http.max_answer_bytes  # small on the wire...
    with pytest.raises(AnswerTooLargeError):  # ...too large once inflated
        http.request("GET", bad.url("/gzip-bomb"))


def test_a_trickle_ends_at_the_total_deadline_although_every_read_is_quick(bad: HostileVendor,
                                                                            http: VendorHttp):
    # a byte every 0.02 s never trips the 0.4 s read timeout; 2000 bytes would take 40 s
    with pytest.raises(SlowAnswerError, match="did not send its whole answer in time"):
        http.request("GET", bad.url("/trickle"))
    assert bad.bytes_sent["trickle"] < bad.trickle_length


def test_the_poll_loop_deadline_ends_a_slow_request_too(bad: HostileVendor):
    client = VendorHttp("Hostile", replace(TUNING, read_timeout=30.0))
    try:
        with request_deadline(0.2), pytest.raises(SlowAnswerError):
            client.request("GET", bad.url("/trickle"))
    finally:
        client.close()


def test_a_download_redirected_to_http_elsewhere_is_refused_at_once(bad: HostileVendor, http: VendorHttp,
                                                                    tmp_path: Path):
    with pytest.raises(DownloadError, match="not https .*203.0.113.7.*not followed"):
        download_audio(http, bad.url("/redirect-http"), tmp_path / "result")
    assert bad.paths == ["/redirect-http"]  # no retries of a refusal


def test_every_redirect_hop_is_checked(bad: HostileVendor, http: VendorHttp, tmp_path: Path):
    with pytest.raises(DownloadError, match="not followed"):
        download_audio(http, bad.url("/redirect-chain"), tmp_path / "result")
    assert bad.paths == ["/redirect-chain", "/redirect-hop"]
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_within_the_rule_is_followed(bad: HostileVendor, http: VendorHttp, tmp_path: Path):
    audio = download_audio(http, bad.url("/redirect-ok"), tmp_path / "result")
    assert audio.format == "wav" and audio.path.is_file()
    assert bad.paths == ["/redirect-ok", "/audio.wav"]


def test_cancel_stops_a_download_mid_transfer(bad: HostileVendor, http: VendorHttp, tmp_path: Path):
    cancel = threading.Event()
    bad.on_trickle = cancel.set  # the first byte is on its way: the user presses Cancel
    with pytest.raises(CancelledError, match="Cancelled while downloading"):
        download_audio(http, bad.url("/trickle"), tmp_path / "result", cancel=cancel)
    assert list(tmp_path.iterdir()) == []  # no half file left behind


def test_a_download_has_a_total_deadline(bad: HostileVendor, http: VendorHttp, tmp_path: Path):
    http.download_deadline_s = 0.3
    with pytest.raises(DownloadError, match="did not arrive within 0.3 seconds"):
        download_audio(http, bad.url("/trickle"), tmp_path / "result")
    assert list(tmp_path.iterdir()) == []


HOSTILE_ID = "../../admin?delete=all#x"


@pytest.mark.parametrize("provider_id", ["wavespeed.think-sound", "kling.video-to-audio",
                                         "vidu.text2audio", "flexstack.audiogen"])
def test_a_task_id_from_the_vendor_is_one_escaped_path_segment(emu: VendorEmulator, provider_id: str):
    provider = create_provider(provider_id, {}, emu.environ(), tuning=FAST)
    try:
        with pytest.raises(FoleyError):
            provider.poll(VendorTask(HOSTILE_ID))
    finally:
        provider.close()
    [poll] = [r for r in emu.requests if r.method == "GET"]
    assert path_segment(HOSTILE_ID) in poll.path
    assert poll.query == {} and "/../" not in poll.path


def test_a_status_request_redirected_to_http_elsewhere_fails_at_once_with_a_sentence(bad: HostileVendor,
                                                                                    http: VendorHttp):
    from vse_foley.providers.http import RefusedRedirectError

    with pytest.raises(RefusedRedirectError, match="not https") as caught:
        http.request("GET", bad.url("/redirect-chain"))
    assert not caught.value.retryable  # the poll loop stops instead of asking again
    assert bad.paths == ["/redirect-chain", "/redirect-hop"]  # no retries (TUNING allows 3)

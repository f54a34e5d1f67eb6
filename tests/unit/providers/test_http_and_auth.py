"""Submit safety at the socket level, the poll schedule, Kling's JWT and FlexStack's login/refresh."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from providers_testkit import FAST, generate, request_for

from vse_foley.providers import create_provider
from vse_foley.providers.errors import AuthError, NetworkError, SubmitUncertainError
from vse_foley.providers.http import VendorHttp, retry_after_seconds
from vse_foley.providers.kling import KlingToken
from vse_foley.providers.polling import PollSchedule

# -- poll schedule ----------------------------------------------------------------------------------


def test_poll_interval_is_1_second_five_times_then_grows_to_10_seconds():
    intervals = PollSchedule().delays()
    first = [next(intervals) for _ in range(15)]
    assert first[:5] == [1.0] * 5 and first[5] > 1.0
    assert first[-1] == 10.0
    assert all(b >= a for a, b in itertools.pairwise(first))


def test_a_three_second_task_is_found_at_three_seconds():
    """The steady start: a short task is seen done on the poll right after it finished."""
    elapsed = list(itertools.accumulate(itertools.islice(PollSchedule().delays(), 5)))
    assert 3.0 in elapsed


@pytest.mark.parametrize("minutes", [1, 2, 5, 30])
def test_at_most_15_status_requests_per_minute_of_latency(minutes):
    count, elapsed = 0, 0.0
    for interval in PollSchedule().delays():  # the requests made within that latency
        elapsed += interval
        if elapsed > 60 * minutes:
            break
        count += 1
    assert count <= 15 * minutes


def test_retry_after_header_forms():
    class R:
        headers: dict[str, str]

    response = R()
    response.headers = {"Retry-After": "2"}
    assert retry_after_seconds(response) == 2.0  # type: ignore[arg-type]
    response.headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    assert retry_after_seconds(response) == 0.0  # type: ignore[arg-type]
    response.headers = {}
    assert retry_after_seconds(response) is None  # type: ignore[arg-type]


# -- submit safety against raw sockets -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_submit_is_retried_then_reported_as_not_sent():
    http = VendorHttp("Vendor", FAST)
    port = _free_port()  # nothing listens: connection refused, the request never left
    with pytest.raises(NetworkError, match="nothing was sent or charged"):
        http.submit(f"http://127.0.0.1:{port}/v1/tasks", headers={}, json={})
    http.close()


_MARKER = b"MARKER"  # a test's own last connection, never an HTTP request


class _OneShotServer:
    """Accepts connections one at a time, reads the request, then misbehaves in a chosen way.

    ``settle`` connects once more with a marker and waits until the server reaches it:
    connections are accepted in arrival order, so by then every request the client made
    has been counted (no sleep-then-count).
    """

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.requests = 0
        self.held: list[socket.socket] = []  # "silent" connections: never answered, closed at close()
        self.reached_marker = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:  # ends when close() closes the listening socket
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if conn.recv(65536) == _MARKER:
                conn.close()
                self.reached_marker.set()
                continue
            self.requests += 1
            if self.behaviour == "silent":
                self.held.append(conn)
                continue
            with conn:
                if self.behaviour == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                elif self.behaviour == "half":
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"data"')

    def settle(self) -> int:
        """The number of requests, once the server has handled every connection made so far."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as marker:
            marker.sendall(_MARKER)
            assert self.reached_marker.wait(5)
        return self.requests

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("behaviour", ["reset", "half", "silent", "close"])
def test_a_submit_that_may_have_left_is_never_resent(behaviour):
    server = _OneShotServer(behaviour)
    http = VendorHttp("Vendor", replace(FAST, read_timeout=0.2))
    try:
        with pytest.raises(SubmitUncertainError, match="paying twice"):
            http.submit(
                f"http://127.0.0.1:{server.port}/v1/tasks",
                headers={"Authorization": "Token s3cr3t-key"},
                json={"prompt": "x"},
            )
        assert server.settle() == 1
    finally:
        http.close()
        server.close()


def test_idempotent_get_is_retried_after_a_dropped_connection():
    server = _OneShotServer("close")
    http = VendorHttp("Vendor", FAST)
    try:
        with pytest.raises(NetworkError, match="Could not reach Vendor"):
            http.request("GET", f"http://127.0.0.1:{server.port}/status")
        assert server.settle() == FAST.retries + 1
    finally:
        http.close()
        server.close()


# -- Kling JWT --------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_kling_jwt_claims_and_renewal_before_expiry():
    clock = FakeClock(1_700_000_000.0)
    token = KlingToken("ak-1", "sk-1", clock)
    first = token.get()
    header = jwt.get_unverified_header(first)
    claims = jwt.decode(
        first, "sk-1", algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims == {"iss": "ak-1", "exp": 1_700_000_000 + 1800, "nbf": 1_700_000_000 - 5}
    clock.now += 1000
    assert token.get() == first  # cached while more than the margin remains
    clock.now += 600  # 200 s left: less than the 300 s margin
    second = token.get()
    assert second != first
    assert jwt.decode(
        second, "sk-1", algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )["exp"] == (1_700_000_000 + 1600 + 1800)


def test_kling_provider_renews_its_jwt_and_the_emulator_accepts_both(emu, clip, tmp_path: Path):
    clock = FakeClock(time.time() - 1600)  # the first JWT has 200 s left in real time: still valid
    from vse_foley.providers.kling import KlingVideoToAudio
    from vse_foley.providers.settings import resolve_settings

    provider = KlingVideoToAudio(resolve_settings({}, emu.environ(), FAST), clock=clock)
    request = request_for("kling.video-to-audio", clip(4.0), 4.0)
    try:
        generate(provider, request, tmp_path / "one")
        clock.now = time.time()  # 200 s left is inside the 300 s renewal margin: a new JWT is made
        generate(provider, request, tmp_path / "two")
    finally:
        provider.close()
    tokens = [
        r.headers.get("Authorization", r.headers.get("authorization", ""))
        for r in emu.requests
        if r.vendor == "kling"
    ]
    assert len(set(tokens) - {""}) == 2  # one JWT per half hour, renewed before it expired
    downloads = [r for r in emu.requests if r.kind == "download"]
    assert downloads and not any("Authorization" in r.headers for r in downloads)  # no JWT to result hosts
    assert emu.submit_count("kling") == 2


def test_kling_wrong_secret_names_both_keys(emu, clip, tmp_path: Path):
    environ = {**emu.environ(), "KLING_SECRET_KEY": "wrong"}
    provider = create_provider("kling.video-to-audio", {}, environ, tuning=FAST)
    try:
        with pytest.raises(AuthError) as caught:
            generate(provider, request_for("kling.video-to-audio", clip(4.0), 4.0), tmp_path / "t")
    finally:
        provider.close()
    assert "KLING_ACCESS_KEY and KLING_SECRET_KEY" in str(caught.value)
    assert emu.submit_count("kling") == 0


# -- FlexStack auth and result shapes ---------------------------------------------------------------


@pytest.mark.parametrize("shape", ["celery", "state_list", "nested", "lowercase"])
def test_flexstack_result_shapes(shape, emu, provider, tmp_path: Path):
    emu.flexstack_result_shape = shape
    audio = generate(
        provider("flexstack.audiogen"), request_for("flexstack.audiogen", duration=3.0), tmp_path / "t"
    )
    assert audio.format == "wav" and audio.duration == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize("shape", ["celery", "state_list", "nested", "lowercase"])
def test_flexstack_failed_task_in_every_shape(shape, emu, provider, tmp_path: Path):
    emu.flexstack_result_shape = shape
    emu.inject("flexstack", "task_fail", message="model crashed")
    with pytest.raises(Exception, match="model crashed"):
        generate(
            provider("flexstack.audiogen"), request_for("flexstack.audiogen", duration=3.0), tmp_path / "t"
        )


def test_flexstack_pasted_token_needs_no_login(emu, provider, tmp_path: Path):
    environ = {k: v for k, v in emu.environ().items() if not k.startswith("FLEXSTACK_")}
    environ["FLEXSTACK_ACCESS_TOKEN"] = emu.keys.flexstack_token
    generate(
        provider("flexstack.audiogen", environ=environ),
        request_for("flexstack.audiogen", duration=2.0),
        tmp_path / "t",
    )
    assert not [r for r in emu.requests if r.kind == "auth"]


def test_flexstack_expired_token_is_refreshed_then_relogged(emu, provider, tmp_path: Path):
    emu.flexstack_token_ttl = 0.0  # every issued token is expired on arrival
    created = provider("flexstack.audiogen")
    try:
        with pytest.raises(AuthError):
            generate(created, request_for("flexstack.audiogen", duration=2.0), tmp_path / "t")
    finally:
        emu.flexstack_token_ttl = 3600.0
    auth = [r.path for r in emu.requests if r.kind == "auth"]
    assert auth[:2] == ["/user/login", "/user/refresh_token"]
    assert emu.submit_count("flexstack") == 0


def test_flexstack_refresh_keeps_a_long_job_going(emu, provider, tmp_path: Path):
    created = provider("flexstack.audiogen")
    generate(created, request_for("flexstack.audiogen", duration=2.0), tmp_path / "a")
    emu.flexstack_token_ttl = 0.05
    created._access = ""  # next call logs in and gets a short-lived token
    try:
        created.validate(request_for("flexstack.audiogen", duration=2.0))
        created._token()
    finally:
        # Only the token held now is short-lived; the refreshed one must outlive a loaded machine.
        emu.flexstack_token_ttl = 3600.0
    time.sleep(0.1)  # the held token has expired
    generate(created, request_for("flexstack.audiogen", duration=2.0), tmp_path / "b")
    assert "/user/refresh_token" in [r.path for r in emu.requests if r.kind == "auth"]
    assert emu.submit_count("flexstack") == 2


def test_flexstack_request_body_follows_the_docs(emu, provider, tmp_path: Path):
    request = request_for(
        "flexstack.audiogen", duration=2.4, options={"model": "musicgen", "top_k": 50, "top_p": 0.5}
    )
    generate(provider("flexstack.audiogen"), request, tmp_path / "t")
    body = next(r.json for r in emu.requests if r.kind == "submit")
    assert body == {
        "prompt": "footsteps on gravel",
        "configs": {"model": "musicgen", "duration": 3, "top_k": 50, "top_p": 0.5},
    }
    json.dumps(body)

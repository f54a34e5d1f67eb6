"""Loopback emulator of the WaveSpeed, Kling, Vidu, FlexStack and ElevenLabs audio APIs.

The real services cannot be reached from the build machines, so every client test,
the demo and the benchmark talk to this server. It follows the vendor documents in
``shared/seeds`` and ``shared/vendors.md`` to the byte, failures included.

    from devtools.emulator import VendorEmulator, EmulatorKeys
    with VendorEmulator(task_seconds=0.0, min_polls=1) as emu:
        emu.base_url("kling")         # http://127.0.0.1:PORT/kling
        emu.environ()                 # keys + VSE_FOLEY_*_URL for the add-on's clients
        emu.inject("kling", "http_429", count=2, retry_after=1)

One port, one path prefix per vendor (``/wavespeed``, ``/kling``, ``/vidu``,
``/flexstack/v1`` since FlexStack's production base ends in ``/v1``); below it the
vendor's documented paths. Result files and WaveSpeed uploads are served from
``/files/<name>`` (with Content-Length) and belong to the vendor that made them.

Tasks
    A task finishes on the first poll that is both the ``min_polls``-th poll (or later)
    and at least ``task_seconds`` after submit; before that the first poll reports the
    vendor's queued state and later polls its running state. Results are real 16-bit PCM
    WAVs (44.1 kHz stereo; 48 kHz for Hunyuan-Foley) of the asked length: WaveSpeed the
    clip's mvhd duration (model default when unreadable: ThinkSound 9 s, Hunyuan 8 s,
    Kling 10 s) or the ``duration`` field (MMAudio 8 s default, Mirelo); Kling the clip;
    Vidu and FlexStack ``duration``. Kling also gets a silent (valid) MP3 and the clip
    back as its "video with audio".

Request kinds (what faults target)
    ``submit`` (paid create), ``poll`` (task status), ``list`` (Kling list),
    ``upload`` (WaveSpeed binary upload), ``auth`` (FlexStack login/refresh),
    ``download`` (result file), ``media`` (an uploaded clip fetched back), ``other``.

Faults: ``emu.inject(vendor, fault, count=1, on=None, **params)``
    Each use consumes one matching request (oldest fault first); ``on="poll"`` or a
    tuple of kinds overrides the default kinds below.

    ==========================  =================  =================================================
    fault                       default kinds      effect
    ==========================  =================  =================================================
    ``http_500``                any                ``status`` 500|502|503|504 (default 500); vendor
                                                   JSON body, except 502: a gateway HTML page
    ``http_429``                any but download   429 + ``Retry-After: retry_after`` (default 1;
                                /media             whole seconds, a fraction is sent as given) and
                                                   the vendor body: Kling 1302, WaveSpeed code 429,
                                                   Vidu TooManyRequests, FlexStack envelope
    ``slow``                    any                sleep ``delay`` seconds (default 5), then answer
                                                   normally (a slow submit still creates the task)
    ``task_fail``               submit             the accepted task ends failed: ``message``
                                                   (Kling task_status_msg, WaveSpeed data.error,
                                                   FlexStack result); Vidu ``err_code`` (default
                                                   InternalServiceFailure)
    ``moderation``              submit             rejected after validation: WaveSpeed 400/1200,
                                                   Kling 400/1301, Vidu 400
                                                   TaskPromptPolicyViolation, FlexStack 400
    ``no_credits``              submit             rejected after validation: WaveSpeed HTTP 402
                                                   code 402, Kling 429/1102, Vidu 400
                                                   CreditInsufficient, FlexStack 402
    ``drop_submit_response``    submit             the task IS created and counted, then the
                                                   connection closes with no answer
    ``short_audio``             submit             the task's audio lasts ``seconds`` (default 1.0)
    ``result_level``            submit             the task's audio is ``gain_db`` louder (clipped at
                                                   full scale) and silent for ``silent_seconds``
                                                   from ``silent_from``
    ``truncate_download``       download           full Content-Length, ``keep`` bytes (default
                                                   half), then the connection closes
    ``html_download``           download           200 text/html page instead of the file
    ``expired_download``        download           404 (S3-style XML) for the file
    ``lose_submit_answer``      submit             the task IS created and counted, then the client
                                                   hears ``status`` 500 (default), 502 (gateway
                                                   page), 503 (bare gateway page, no vendor code),
                                                   504, or 0: the connection closes unanswered
    ``lookup_lag``              submit (Kling)     the created task is not found by its
                                                   external_task_id for the next ``lookups``
                                                   (default 3) lookup requests and ``seconds``
                                                   (default 0) after the create; ``list`` (default
                                                   True) hides it from the task list too
    ==========================  =================  =================================================

Kling's unknowns (attributes): ``kling_duplicate_ids`` "accept" (default, the unkind reading:
a repeated external_task_id makes a second paid task) or "refuse" (400/1201);
``kling_page_size_cap`` serves list pages of at most that many tasks whatever ``pageSize`` asks.
``tasks_created(vendor)`` counts the paid tasks the vendor's one test account made;
``wait_for_submits(vendor, count, timeout)`` blocks until that many were made (a slow
submit's task lands after the client gave up) instead of a test sleeping and counting.

Account limits (``devtools.emulator.accounts``)
    One key is one account: a task counts as running from its accepted submit until a
    poll sees it finished, across every model of the vendor. A submit over the
    account's tasks at once (``emu.accounts.limits``: WaveSpeed 3, Vidu 5; Kling and
    FlexStack not enforced unless a test sets a number) is refused with the vendor's
    "busy" answer and makes no task: WaveSpeed 429 + ``Retry-After``, Kling 429/1303,
    Vidu 429 ``QuotaExceeded``, FlexStack 429 (the unkind reading: WaveSpeed's
    document says excess tasks wait). Read ``emu.running(vendor)``,
    ``emu.peak_demand(vendor)`` (the most tasks the client tried to run at once) and
    ``emu.busy_refusals(vendor)``. The ``busy`` fault (submit; ``retry_after``
    optional) answers with the same refusal whatever the count.

FlexStack result shapes: see ``devtools.emulator.flexstack`` (``celery``, ``state_list``,
``nested``, ``lowercase``); pick with ``VendorEmulator(flexstack_result_shape=...)``.

Run standalone with ``python -m devtools.emulator --port 8765 --task-seconds 2``.
"""

from .server import VENDORS, EmulatorKeys, Fault, RecordedRequest, VendorEmulator
from .wire import TaskRecord

__all__ = ["VENDORS", "EmulatorKeys", "Fault", "RecordedRequest", "TaskRecord", "VendorEmulator"]

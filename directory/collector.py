"""Python's cycle collector in a long-running server process.

Every so often the collector walks every container object the process holds, to find cycles no one refers to
any more. Most of them were made while starting and by the first requests (modules, the URL patterns, the
templates, the country and ZIP code tables) and will live as long as the process: at 100,000 services such a
walk took up to 57 ms in the middle of a search, eight times in 150 searches (377 ms of 9.7 s). Once the
process has served a few requests, what it holds then is collected a last time and set aside (gc.freeze), so
that later walks visit only what the requests since have made (51 ms in all, at most 8 ms each).

Done after requests 1, 10, 100 and 1000 (when Django says a response is finished, so no one waits on it):
what the first ones load lazily is set aside too. A cycle made later is still collected as before. In a
threaded server the collection before each freeze pauses the other threads (four times in all), and what
their requests hold at that moment is set aside with the rest: a few objects, never collected."""

import gc

from django.core.signals import request_finished

FREEZE_AFTER = frozenset({1, 10, 100, 1000})

_served = 0


def _set_aside(**_kwargs):
    global _served
    _served += 1
    if _served in FREEZE_AFTER:
        gc.collect()
        gc.freeze()


def set_aside_what_lasts():
    """Connect the freezing to the end of each response (the WSGI and ASGI entry points call this)."""
    request_finished.connect(_set_aside, dispatch_uid="directory.collector")

"""The bound on refusal records: one in full per client, status and route and window, the
rest counted; a bounded number of windows however many clients."""

from __future__ import annotations

from api.refusals import CROWD, RefusalKey, RefusalLimiter

KEY = RefusalKey("10.0.0.7", 401, "/v1/ask")


def test_one_full_record_per_window_the_rest_summarised_when_it_ends() -> None:
    limiter = RefusalLimiter(window_s=60)
    assert limiter.admit(KEY, 0.0, "t0", "fp0") is True
    assert [limiter.admit(KEY, float(s), f"t{s}", f"fp{s % 2}") for s in (1, 2, 3)] == \
        [False, False, False]
    assert limiter.admit(RefusalKey("10.0.0.7", 403, "/v1/ask"), 4.0, "t4", None) is True
    assert limiter.ended(59.0) == []  # still open
    [repeats] = limiter.ended(60.0)
    assert (repeats.key, repeats.count, repeats.first_at, repeats.last_at) == (KEY, 3, "t1",
                                                                               "t3")
    assert repeats.credentials == ("fp0", "fp1")
    assert limiter.admit(KEY, 61.0, "t61", None) is True  # a new window: in full again
    assert limiter.open  # the 403's window and the new one
    assert limiter.flush() == [] and not limiter.open  # neither counted anything


def test_past_the_window_bound_new_clients_share_one_window() -> None:
    limiter = RefusalLimiter(window_s=60, max_windows=2)
    assert limiter.admit(RefusalKey("a", 404, "unmatched"), 0.0, "t", None)
    assert limiter.admit(RefusalKey("b", 404, "unmatched"), 0.0, "t", None)
    crowd = [limiter.admit(RefusalKey(f"c{i}", 404, "unmatched"), 1.0, "t", None)
             for i in range(100)]
    assert crowd == [True] + [False] * 99  # the shared window's first, then counted
    assert [(r.key.client, r.count) for r in limiter.flush()] == [(CROWD, 99)]

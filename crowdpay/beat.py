"""One beat leader however many beat processes run: RedBeat (celery-redbeat), hardened.

RedBeat keeps the schedule in Redis and lets a beat tick only while it holds the lock
`<prefix>:lock` (a Redis lock with a timeout, extended on every tick). Every other beat process is
a standby: it starts, finds the lock taken, and waits. So every periodic job runs once per slot
whatever the number of beats (`docker compose up --scale beat=2`, `make worker` on two boxes), and
when the leader dies a standby takes over within `BEAT_LOCK_TIMEOUT_SECONDS`.

Stock RedBeat takes the lock once, at start, and lets any Redis error in a tick end the beat. A
beat embedded in a worker (`celery worker --beat`) then stops for good while the worker lives on,
and a Redis that restarted empty has lost both the lock and the schedule. `LeaderScheduler` asks
for leadership on every tick instead, without blocking: it extends the lock it holds, or tries to
take it; a Redis error makes it skip the tick (and try again); and each time it becomes the
leader it writes the static schedule (the settings' `CELERY_BEAT_SCHEDULE`) back into Redis.

Only a leader that stalls past the lock's timeout (a frozen VM) can overlap with the next one for
the tick it was in: the jobs are idempotent sweeps, so at worst one runs twice.
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis

log = logging.getLogger(__name__)


class LeaderScheduler(RedBeatScheduler):
    lock: Any = None  # the held redis-py Lock; RedBeat's beat_init handler may set it first

    def tick(self, min=min, **kwargs):
        if self.lock_key and not self._lead():
            return self.max_interval
        remaining: list[float] = []
        try:
            for entry in self.schedule.values():
                next_time_to_run = self.maybe_due(entry, **self._maybe_due_kwargs)
                if next_time_to_run:
                    remaining.append(next_time_to_run)
        except RuntimeError:
            log.debug("beat: RuntimeError", exc_info=True)
        except redis.exceptions.RedisError as exc:
            log.warning("beat: the schedule in Redis is unreadable, tick skipped: %s", exc)
            return self.max_interval
        return min([*remaining, self.max_interval])

    def setup_schedule(self):
        # RedBeat writes the static schedule into Redis when the scheduler is built, at the beat's
        # start. A worker (re)started while Redis is down must not lose its beat for good over it:
        # the schedule is written again whenever this beat takes the lead (`_lead`).
        try:
            super().setup_schedule()
        except redis.exceptions.RedisError as exc:
            log.warning("beat: Redis unavailable at start, the schedule is written when this beat leads: %s", exc)

    def _lead(self) -> bool:
        """True while this beat holds the lock (extended here); takes it when it is free."""
        try:
            if self.lock is not None:
                try:
                    self.lock.extend(int(self.lock_timeout))
                    return True
                except redis.exceptions.LockError:
                    log.warning("beat: lost the leader lock %s (expired, or Redis restarted)", self.lock_key)
                    self.lock = None
            client = get_redis(self.app)
            lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
            if not lock.acquire(blocking=False):
                return False
            self.lock = lock
            log.info("beat: leading (lock %s, %s s)", self.lock_key, self.lock_timeout)
            self.setup_schedule()  # Redis may have restarted empty: put the static schedule back
            return True
        except redis.exceptions.RedisError as exc:
            log.warning("beat: Redis unavailable, tick skipped: %s", exc)
            return False

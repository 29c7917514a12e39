"""One DescribeDBInstances per poll interval for every copy polled in one account and region.

Eight restores under way poll their copies every few seconds each; asked one by one that is eight describes
per interval, which on AWS counts against the account's API rate (RDS throttles Describe calls per account
and region) and in the emulator queues behind one another. A poll asks for its copy and gets the answer of
a read that started after it asked: the one it starts itself, or one another thread started later that
included it. No answer is older than the poll that asked for it.

Reads are paced: one starts no sooner than `interval` after the one before, and every poll asking in
between joins it. The pacing is the polls' interval, so callers ask again as soon as they have an answer
(`PACED_STATE` in the driver): each copy is seen by every read, and there is one read per interval however
many copies are under way, not one per copy whose polls happen to fall between two reads.

API_DescribeDBInstances, Filters: `db-instance-id` accepts DB instance identifiers (the result lists only
those instances; one that does not exist is simply not listed), MaxRecords at most 100, then a Marker.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tasks.aws.clients import AwsClients

_PER_FILTER = 50  # identifiers per request: well inside a page (MaxRecords 100)
_SHORTEST_INTERVAL = 0.01  # an interval of 0 (tests) must not spin the reads


class InstancePoller:
    def __init__(self, client: Any, interval: float = 0.0) -> None:
        self.client = client
        self.interval = max(interval, _SHORTEST_INTERVAL)
        self._next_start = 0.0  # time.monotonic() before which no read starts
        self._cond = threading.Condition()
        self._wanted: set[str] = set()
        self._started = 0  # reads started so far; a poll needs one numbered above the count when it asked
        self._reading = False
        self._done: tuple[int, frozenset[str], dict[str, dict], BaseException | None] = (0, frozenset(), {}, None)

    def describe(self, identifier: str) -> dict | None:
        """The instance as a read started after this call saw it, or None if that read did not list it."""
        with self._cond:
            self._wanted.add(identifier)
            needed = self._started + 1
            while True:
                number, asked, found, error = self._done
                if number >= needed and identifier in asked:
                    if error is not None:
                        raise error
                    return found.get(identifier)
                if self._reading:
                    self._cond.wait()
                    continue
                pause = self._next_start - time.monotonic()
                if pause <= 0:
                    break
                self._cond.wait(pause)  # the polls asking meanwhile join the read
            self._reading = True
            self._next_start = time.monotonic() + self.interval
            self._started += 1
            self._wanted.add(identifier)  # again: a read that took it may have been overtaken by a later one
            number = self._started
            ids = frozenset(self._wanted)
            self._wanted.clear()
        found, error = {}, None
        try:
            found = read_instances(self.client, sorted(ids))
        except BaseException as exc:  # every poll of this read gets the error (botocore retried what it could)
            error = exc
        with self._cond:
            self._done = (number, ids, found, error)
            self._reading = False
            self._cond.notify_all()
        if error is not None:
            raise error
        return found.get(identifier)


def read_instances(client: Any, ids: list[str]) -> dict[str, dict]:
    """One read of these instances now (unpaced, not shared): identifier -> instance, for those listed."""
    found: dict[str, dict] = {}
    paginator = client.get_paginator("describe_db_instances")
    for start in range(0, len(ids), _PER_FILTER):
        chunk = ids[start : start + _PER_FILTER]
        for page in paginator.paginate(Filters=[{"Name": "db-instance-id", "Values": chunk}]):
            for db in page["DBInstances"]:
                found[db["DBInstanceIdentifier"]] = db
    return found


def instance_poller(clients: AwsClients, region: str, account: str | None, interval: float = 0.0) -> InstancePoller:
    """The run's poller for one account and region (one per AwsClients, which is one per run), reading at
    most once per `interval` (the run's poll interval: the first caller's)."""
    return clients.read_once(
        ("rds-instance-poller", account, region),
        lambda: InstancePoller(clients.client("rds", region, account), interval),
    )

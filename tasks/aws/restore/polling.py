"""One DescribeDBInstances for every copy polled at about the same time in one account and region.

Eight restores under way poll their copies every few seconds each; asked one by one that is eight describes
per interval, which on AWS counts against the account's API rate (RDS throttles Describe calls per account
and region) and in the emulator queues behind one another. A poll asks for its copy and gets the answer of
a read that started after it asked: the one it starts itself, or one another thread started later that
included it. No answer is older than the poll that asked for it.

API_DescribeDBInstances, Filters: `db-instance-id` accepts DB instance identifiers (the result lists only
those instances; one that does not exist is simply not listed), MaxRecords at most 100, then a Marker.
"""

from __future__ import annotations

import threading
from typing import Any

from tasks.aws.clients import AwsClients

_PER_FILTER = 50  # identifiers per request: well inside a page (MaxRecords 100)


class InstancePoller:
    def __init__(self, client: Any) -> None:
        self.client = client
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
                if not self._reading:
                    break
                self._cond.wait()
            self._reading = True
            self._started += 1
            self._wanted.add(identifier)  # again: a read that took it may have been overtaken by a later one
            number = self._started
            ids = frozenset(self._wanted)
            self._wanted.clear()
        found, error = {}, None
        try:
            found = self._read(sorted(ids))
        except BaseException as exc:  # every poll of this read gets the error (botocore retried what it could)
            error = exc
        with self._cond:
            self._done = (number, ids, found, error)
            self._reading = False
            self._cond.notify_all()
        if error is not None:
            raise error
        return found.get(identifier)

    def _read(self, ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        paginator = self.client.get_paginator("describe_db_instances")
        for start in range(0, len(ids), _PER_FILTER):
            chunk = ids[start : start + _PER_FILTER]
            for page in paginator.paginate(Filters=[{"Name": "db-instance-id", "Values": chunk}]):
                for db in page["DBInstances"]:
                    found[db["DBInstanceIdentifier"]] = db
        return found


def instance_poller(clients: AwsClients, region: str, account: str | None) -> InstancePoller:
    """The run's poller for one account and region (one per AwsClients, which is one per run)."""
    return clients.read_once(
        ("rds-instance-poller", account, region), lambda: InstancePoller(clients.client("rds", region, account))
    )

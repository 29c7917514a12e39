"""TODO docstring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def of(cls, when: datetime) -> Quarter:
        return cls(when.year, (when.month - 1) // 3 + 1)

    @classmethod
    def begun(cls, text: str, now: datetime) -> Quarter:
        """parse(text), refused if the quarter has not begun by `now`: a pack reports on evidence that exists."""
        quarter = cls.parse(text)
        if quarter.start > now:
            raise ValueError(
                f"{quarter.id} has not begun (today is {now:%Y-%m-%d} UTC): name this quarter or an earlier one"
            )
        return quarter

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """'2026Q3', '2026-Q3' or '2026 Q3'."""
        cleaned = text.strip().upper().replace("-", "").replace(" ", "")
        year, sep, q = cleaned.partition("Q")
        if not sep or not year.isdigit() or q not in ("1", "2", "3", "4"):
            raise ValueError(f"expected a quarter like 2026Q3, got {text!r}")
        return cls(int(year), int(q))

    @property
    def id(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def label(self) -> str:
        return f"{self.year} Q{self.q}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, 3 * self.q - 2, 1, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """Exclusive: the first instant of the next quarter."""
        return self.next().start

    def next(self) -> Quarter:
        return Quarter(self.year + self.q // 4, self.q % 4 + 1)

    def prev(self) -> Quarter:
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)

    def back(self, count: int) -> list[Quarter]:
        """This quarter and the count-1 before it, oldest first."""
        quarters = [self]
        while len(quarters) < count:
            quarters.append(quarters[-1].prev())
        return quarters[::-1]

"""The send ledger: which digest messages went out, so each is sent once and only once.

An append-only JSON-lines file outside the output and cache folders. Before a message is
handed to the mail server a ``sending`` line is written and flushed to disk; after the
server accepts it, a ``sent`` line; if the server refuses it, a ``failed`` line. A
``sending`` line with nothing after it means a run died mid-delivery: the message may or
may not have gone out, so it is never re-sent automatically (at most once beats twice).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path


class State(Enum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Ledger:
    path: Path

    def states(self) -> dict[str, State]:
        """The last recorded state of each Message-ID."""
        result: dict[str, State] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return result
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                result[row["message_id"]] = State(row["state"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line from a crash: the entry before it still counts
        return result

    def record(self, message_id: str, state: State, at: datetime, path: str) -> None:
        """Append one line and flush it to disk before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        row = {"message_id": message_id, "state": state.value, "at": at.isoformat(),
               "digest": path}
        line = json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

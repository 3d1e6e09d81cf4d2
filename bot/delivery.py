"""Exactly-once delivery of a channel's daily digest (knows nothing about Discord).

The caller hands in ``prepare()`` (builds and renders the digest) and
``send(payload, nonce) -> message_id`` (posts one message). The rules:

* A durable claim row (``digests``, one per channel and local day) is written
  before the first message goes out; message ids are saved as each is
  confirmed; the row ends ``sent`` (and the stories are recorded with
  ``record_sent`` in the same transaction), ``empty``, ``failed`` or ``missed``.
* Every message carries a nonce derived from (channel, day, index). Discord
  drops a second message with the same nonce (``enforce_nonce``) for a few
  minutes, so a resend with the same nonces cannot duplicate.
* A ``claimed`` row found later means a send may have been in flight when the
  process died. If the claim is younger than ``resend_window`` seconds the
  remaining messages are resent with the same nonces (Discord deduplicates);
  older than that, Discord no longer deduplicates, so the row is marked
  ``failed`` ("uncertain") and nothing is resent: a missing digest is better
  than a double one, and an admin can still run ``/newsadmin digest now``.
* Every write runs in ``transaction()`` (the connection's write lock), so a
  claim can never ride along in, and be rolled back with, another task's
  transaction on the shared connection.
* A 403 marks the channel forbidden (``channel_state``) and the digest
  ``failed``; scheduled digests then skip the channel, without calling
  Discord, until a send there succeeds (``/newsadmin digest now``) or the flag is cleared.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.config import DigestChannel
from bot.digest.history import record_sent as default_record_sent
from bot.digest.models import DigestItem
from bot.models import DigestRecord
from bot.store import digests as store
from bot.store import transaction

if TYPE_CHECKING:
    from bot.store import Connection

log = logging.getLogger(__name__)

RESEND_WINDOW_SECONDS = 300
NONCE_LENGTH = 25  # Discord's limit for a message nonce
QUIET_LINE = "No new stories since the last digest."

Payload = dict[str, Any]
SendFn = Callable[[Payload, str], Awaitable[int]]
RecordSent = Callable[["Connection", int, dt.date, Sequence[DigestItem]], Awaitable[object]]


class SendForbidden(Exception):
    """The platform refused the message for lack of permission (HTTP 403)."""


@dataclass(slots=True)
class PreparedDigest:
    """A rendered digest: message payloads and the items they show."""

    payloads: list[Payload]
    items: Sequence[DigestItem] = ()

    @property
    def story_count(self) -> int:
        return len(self.items)


@dataclass(slots=True)
class DeliveryResult:
    """What one delivery attempt did. ``result`` is one of :data:`RESULTS`."""

    channel_id: int
    day: dt.date
    result: str
    story_count: int = 0
    message_ids: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def posted(self) -> bool:
        return self.result == "sent"


RESULTS = (
    "sent",  # every message confirmed
    "empty",  # quiet day with quiet_day=skip: nothing posted
    "already",  # a claim for that day was already final (or taken meanwhile)
    "uncertain",  # a stale in-flight claim: marked failed, not resent
    "forbidden",  # 403 now: channel marked, digest failed
    "skipped",  # channel marked forbidden earlier: not tried
    "failed",  # building or sending failed
    "missed",  # recorded as missed (bot was down past the grace period)
)


def message_nonce(channel_id: int, day: dt.date, index: int) -> str:
    """The 25-character nonce of message ``index`` of a channel's digest for ``day``."""
    key = f"newsdesk-digest:{channel_id}:{day.isoformat()}:{index}".encode()
    return hashlib.sha256(key).hexdigest()[:NONCE_LENGTH]


def quiet_payload() -> Payload:
    """The short line posted on a day without new stories (quiet_day=post)."""
    return {"content": QUIET_LINE, "allowed_mentions": {"parse": []}}


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Delivery:
    """Delivers digests exactly once per channel and local day.

    ``clock`` gives unix seconds of real time (claim and finish times, the
    age of a claim): the resend window is Discord's, which runs on real
    time, so it is not the services' clock, which tests may hold still.
    """

    def __init__(
        self,
        db: Connection,
        *,
        resend_window: float = RESEND_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        record_sent: RecordSent = default_record_sent,
    ) -> None:
        self.db = db
        self.resend_window = resend_window
        self.clock = clock
        self.record_sent = record_sent
        self._locks: dict[int, asyncio.Lock] = {}

    def _now(self) -> int:
        return int(self.clock())

    def _lock(self, channel_id: int) -> asyncio.Lock:
        return self._locks.setdefault(channel_id, asyncio.Lock())

    async def deliver(
        self,
        channel: DigestChannel,
        day: dt.date,
        *,
        prepare: Callable[[], Awaitable[PreparedDigest]],
        send: SendFn,
        quiet_day: str = "post",
        force: bool = False,
    ) -> DeliveryResult:
        """Post ``channel``'s digest for ``day`` unless it already went out.

        ``force`` (an admin's ``/newsadmin digest now``) also retries a ``failed``,
        ``missed`` or ``empty`` day and ignores a recorded 403; it never
        re-posts a ``sent`` one.
        """
        async with self._lock(channel.channel_id):
            result = await self._deliver(channel, day, prepare, send, quiet_day, force)
        log.info(
            "digest channel=%s date=%s stories=%d messages=%d result=%s%s",
            channel.channel_id,
            day.isoformat(),
            result.story_count,
            len(result.message_ids),
            result.result,
            f" error={result.error!r}" if result.error else "",
        )
        return result

    async def _deliver(
        self,
        channel: DigestChannel,
        day: dt.date,
        prepare: Callable[[], Awaitable[PreparedDigest]],
        send: SendFn,
        quiet_day: str,
        force: bool,
    ) -> DeliveryResult:
        cid = channel.channel_id
        record = await store.get_digest(self.db, cid, day)
        if record is None and not force and await store.is_forbidden(self.db, cid):
            return await self._skip_forbidden(channel, day)
        done: list[int] = []
        if record is not None:
            stop = await self._stop_before_resend(record, force)
            if stop is not None:
                return stop
            done = list(record.message_ids)
        try:
            prepared = await prepare()
        except Exception as exc:  # noqa: BLE001 - any build error ends this digest
            log.exception("building the digest for channel %s failed", cid)
            return await self._fail(
                channel, day, record, f"building the digest failed: {_short(exc)}"
            )
        payloads = prepared.payloads
        if prepared.story_count == 0:
            if quiet_day == "skip":
                return await self._empty(channel, day, record)
            payloads = payloads or [quiet_payload()]
        if record is None:
            async with transaction(self.db):
                claimed = await store.claim_digest(
                    self.db,
                    cid,
                    day,
                    guild_id=channel.guild_id or 0,
                    nonce=message_nonce(cid, day, 0),
                    now=self._now(),
                )
            if not claimed:
                return DeliveryResult(cid, day, "already")
        return await self._send_all(channel, day, prepared, payloads, send, done)

    async def _stop_before_resend(self, record: DigestRecord, force: bool) -> DeliveryResult | None:
        """Why a digest already claimed must not be (re)sent now: the result that
        ends this delivery; ``None`` when sending may go on (resume or force)."""
        cid, day = record.channel_id, record.digest_date
        if record.status == store.CLAIMED:
            age = self._now() - record.claimed_at
            if age <= self.resend_window:
                log.info("resuming the digest for channel %s (claimed %ds ago)", cid, age)
                return None
            error = (
                f"uncertain: claimed {age}s ago and never confirmed; not resent, since "
                "Discord no longer deduplicates the nonce"
            )
            async with transaction(self.db):
                await store.finish_digest(
                    self.db,
                    cid,
                    day,
                    store.FAILED,
                    now=self._now(),
                    message_ids=record.message_ids,
                    error=error,
                )
            return DeliveryResult(
                cid, day, "uncertain", message_ids=record.message_ids, error=error
            )
        if force and record.status != store.SENT:
            async with transaction(self.db):
                await store.reclaim_digest(self.db, cid, day, now=self._now())
            return None
        return DeliveryResult(
            cid, day, "already", story_count=record.story_count, message_ids=record.message_ids
        )

    async def _send_all(
        self,
        channel: DigestChannel,
        day: dt.date,
        prepared: PreparedDigest,
        payloads: list[Payload],
        send: SendFn,
        done: list[int],
    ) -> DeliveryResult:
        cid = channel.channel_id
        ids = list(done)
        for index in range(len(ids), len(payloads)):
            try:
                message_id = await send(payloads[index], message_nonce(cid, day, index))
            except SendForbidden as exc:
                return await self._forbidden(channel, day, ids, _short(exc))
            except Exception as exc:  # noqa: BLE001 - reported, never retried blindly
                log.warning("sending digest message %d to channel %s failed: %s", index, cid, exc)
                error = f"sending message {index + 1} of {len(payloads)} failed: {_short(exc)}"
                async with transaction(self.db):
                    await store.record_channel_error(
                        self.db, cid, guild_id=channel.guild_id or 0, error=error, now=self._now()
                    )
                    await store.finish_digest(
                        self.db,
                        cid,
                        day,
                        store.FAILED,
                        now=self._now(),
                        message_ids=ids,
                        error=error,
                    )
                return DeliveryResult(cid, day, "failed", prepared.story_count, ids, error)
            ids.append(int(message_id))
            async with transaction(self.db):
                await store.save_progress(self.db, cid, day, ids)
        async with transaction(self.db):
            await store.finish_digest(
                self.db,
                cid,
                day,
                store.SENT,
                now=self._now(),
                story_count=prepared.story_count,
                message_ids=ids,
            )
            await self.record_sent(self.db, cid, day, list(prepared.items))
            await store.clear_forbidden(self.db, cid)
        return DeliveryResult(cid, day, "sent", prepared.story_count, ids)

    async def _forbidden(
        self, channel: DigestChannel, day: dt.date, ids: list[int], error: str
    ) -> DeliveryResult:
        cid, now = channel.channel_id, self._now()
        error = f"403 Forbidden: {error}"
        async with transaction(self.db):
            await store.mark_forbidden(
                self.db, cid, guild_id=channel.guild_id or 0, error=error, now=now
            )
            await store.finish_digest(
                self.db, cid, day, store.FAILED, now=now, message_ids=ids, error=error
            )
        return DeliveryResult(cid, day, "forbidden", message_ids=ids, error=error)

    async def _skip_forbidden(self, channel: DigestChannel, day: dt.date) -> DeliveryResult:
        error = "skipped: the channel refused an earlier message (403); fix the bot's permissions"
        await self._final(channel, day, None, store.FAILED, error)
        return DeliveryResult(channel.channel_id, day, "skipped", error=error)

    async def _fail(
        self,
        channel: DigestChannel,
        day: dt.date,
        record: DigestRecord | None,
        error: str,
    ) -> DeliveryResult:
        await self._final(channel, day, record, store.FAILED, error)
        return DeliveryResult(channel.channel_id, day, "failed", error=error)

    async def _empty(
        self, channel: DigestChannel, day: dt.date, record: DigestRecord | None
    ) -> DeliveryResult:
        await self._final(channel, day, record, store.EMPTY, None)
        return DeliveryResult(channel.channel_id, day, "empty")

    async def _final(
        self,
        channel: DigestChannel,
        day: dt.date,
        record: DigestRecord | None,
        status: str,
        error: str | None,
    ) -> None:
        """Write a final status, inserting the claim row if there is none yet."""
        cid, now = channel.channel_id, self._now()
        async with transaction(self.db):
            if record is None:
                await store.claim_digest(
                    self.db,
                    cid,
                    day,
                    guild_id=channel.guild_id or 0,
                    nonce=message_nonce(cid, day, 0),
                    now=now,
                    status=status,
                )
            await store.finish_digest(
                self.db,
                cid,
                day,
                status,
                now=now,
                message_ids=record.message_ids if record else None,
                error=error,
            )

    async def record_missed(self, channel: DigestChannel, day: dt.date, *, reason: str) -> bool:
        """Record that ``day``'s digest was not posted in time; ``False`` if a row exists."""
        async with self._lock(channel.channel_id):
            async with transaction(self.db):
                inserted = await store.claim_digest(
                    self.db,
                    channel.channel_id,
                    day,
                    guild_id=channel.guild_id or 0,
                    nonce=message_nonce(channel.channel_id, day, 0),
                    now=self._now(),
                    status=store.MISSED,
                )
                if inserted:
                    await store.finish_digest(
                        self.db,
                        channel.channel_id,
                        day,
                        store.MISSED,
                        now=self._now(),
                        error=reason,
                    )
            if not inserted:
                record = await store.get_digest(self.db, channel.channel_id, day)
                if (
                    record is not None
                    and record.status == store.CLAIMED
                    and self._now() - record.claimed_at > self.resend_window
                ):
                    await self._stop_before_resend(record, False)  # marks it failed ("uncertain")
        if inserted:
            log.info(
                "digest channel=%s date=%s stories=0 messages=0 result=missed error=%r",
                channel.channel_id,
                day.isoformat(),
                reason,
            )
        return inserted

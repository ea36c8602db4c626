"""Prometheus metrics of one reconciler, on a registry of its own (tests run several in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events = Counter(
            "jangar_reconciler_watch_events", "Watch events received.", ["kind", "type"], registry=r
        )
        self.snapshots_sent = Counter(
            "jangar_reconciler_snapshots_sent", "Object snapshots sent to the server.", ["kind"], registry=r
        )
        self.dropped = Counter(
            "jangar_reconciler_snapshots_dropped",
            "Object snapshots too large for one batch message, not sent.",
            ["kind"],
            registry=r,
        )
        self.verdicts = Counter(
            "jangar_reconciler_verdicts", "Verdicts the server returned, per item.", ["verdict"], registry=r
        )
        self.relists = Counter(
            "jangar_reconciler_relists", "Lists of a resource, by why.", ["kind", "reason"], registry=r
        )
        self.reconnects = Counter(
            "jangar_reconciler_stream_reconnects", "Stream sessions opened after the first.", registry=r
        )
        self.unacknowledged = Gauge(
            "jangar_reconciler_unacknowledged_items", "Items sent and not yet acknowledged.", registry=r
        )
        self.pending = Gauge("jangar_reconciler_pending_items", "Items waiting to be sent.", registry=r)
        self.leader = Gauge("jangar_reconciler_leader", "1 while this replica holds the Lease.", registry=r)
        self.connected = Gauge(
            "jangar_reconciler_stream_connected", "1 while a stream session is open.", registry=r
        )
        self.lag = Histogram(
            "jangar_reconciler_ack_lag_seconds",
            "From receiving an event or list item to the server's acknowledgement of it.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )

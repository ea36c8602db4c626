"""The Jangar reconciler: lists and watches Kubernetes objects and streams level-triggered snapshots to the
server over jangar.v1.ReconcilerService (docs/reconciler.md). It imports nothing from jangar.server."""

from jangar.reconciler.app import Reconciler, run
from jangar.reconciler.config import Config

__all__ = ["Config", "Reconciler", "run"]

"""A Celery app for a worker that dies in the middle of a tick, as a machine would: test-only.

``celery -A tests.e2e.worker_dies_mid_tick worker --pool=solo`` runs the
project's app (``config.celery``) with ``ems.algos._tick`` wrapped. The
first scheduled tick numbered ``TICK_KILL_AT`` or later that places children
while nothing else could run the execution's next tick is let do all its
database work; then, its transaction still open, the wrapper writes what the
tick placed to the file ``TICK_KILL_RECORD`` names and SIGKILLs its own
process. With the solo pool that process is the whole worker: nothing is
committed, no ``on_commit`` callback runs, nothing is acknowledged. The
record file, created exclusively, makes it happen once.

"Nothing else could run the next tick" keeps beat's sweep the only way back:
no child is working (no report in flight can nudge the algo), every child
that ended unfilled has had its nudge run (none is queued), and the tick dies
before it is ``CHILD_RESEND_SECONDS`` late (no sweep has asked for it again).
"""

import json
import os
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import signals

from config.celery import app

__all__ = ["app"]


@signals.worker_init.connect
def _wrap_tick(**_: Any) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import F
    from django.utils import timezone

    from ems import algos
    from ems.models import ChildOrder, Execution
    from oms.models import ParentOrder
    from trading.states import TERMINAL, OrdStatus

    record = Path(os.environ["TICK_KILL_RECORD"])
    kill_at = int(os.environ["TICK_KILL_AT"])
    real_tick = algos._tick

    def nudge_pending(parent: ParentOrder, execution: Execution) -> bool:
        """Whether a child ended unfilled (the EMS then nudges the algo) with no tick yet run by that nudge."""
        ended = parent.children.filter(status__in=(OrdStatus.CANCELED, OrdStatus.REJECTED), filled_qty__lt=F("qty"))
        nudged = {trigger.split(" at ", 1)[0] for trigger in execution.ticks.values_list("trigger", flat=True)}
        return any(cl_ord_id not in nudged for cl_ord_id in ended.values_list("cl_ord_id", flat=True))

    def tick_then_die(parent: ParentOrder, execution: Execution, *, trigger: str, now: datetime) -> None:
        tick_no, due_at = execution.tick_no, execution.next_tick_at
        alone = not parent.children.exclude(status__in=TERMINAL).exists() and not nudge_pending(parent, execution)
        last_pk = max(parent.children.values_list("pk", flat=True), default=0)
        real_tick(parent, execution, trigger=trigger, now=now)
        if trigger != "schedule" or tick_no < kill_at or not alone or due_at is None or record.exists():
            return
        placed = list(ChildOrder.objects.filter(parent=parent, pk__gt=last_pk).values_list("cl_ord_id", "qty"))
        if not placed or timezone.now() >= due_at + timedelta(seconds=settings.CHILD_RESEND_SECONDS):
            return
        facts = {
            "parent_id": parent.pk,
            "tick_no": tick_no,
            "children": [{"cl_ord_id": cl_ord_id, "qty": str(qty)} for cl_ord_id, qty in placed],
        }
        with record.open("x") as out:
            json.dump(facts, out)
        os.kill(os.getpid(), signal.SIGKILL)

    algos._tick = tick_then_die

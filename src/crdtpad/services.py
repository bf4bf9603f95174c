"""Services: every long-lived object, built in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from crdtpad.access import Guard
from crdtpad.accounts import Accounts
from crdtpad.config import Settings
from crdtpad.metrics import Metrics
from crdtpad.pads import Pads
from crdtpad.store.pads import SqlitePadStore
from crdtpad.store.sharing import SqliteSharingStore
from crdtpad.sync.connection import ConnectionLimits
from crdtpad.sync.rooms import Rooms
from crdtpad.webhooks import Webhooks


@dataclass
class Services:
    """What request handlers reach through ``deps``."""

    settings: Settings
    store: SqlitePadStore
    rooms: Rooms
    metrics: Metrics
    connection_limits: ConnectionLimits
    accounts: Accounts
    sharing: SqliteSharingStore
    guard: Guard
    pads: Pads
    webhooks: Webhooks
    sockets: set[object] = field(default_factory=set)

"""The worklist's dialog: where to send a patient."""
from __future__ import annotations

from nicegui import ui

from clinic_ui.widgets import staff_action
from models import Queue, QueueKind
from models.types import utcnow
from services import clinic_settings, queue
from services.access import Actor
from services.core.i18n import _, pick


class SendDialog:
    """One "Send to…" dialog for the whole worklist, not a menu of every queue on every card: a call then adds a
    card of a dozen elements, not of a hundred. The lab and the other stations come first: where patients are sent
    most."""

    def __init__(self, actor: Actor, destinations: list[Queue]) -> None:
        self.actor = actor
        self.ticket: queue.TicketView | None = None
        self.names = {q.id: f'{q.prefix} · {pick(q.name, q.name_translations)}' for q in destinations}
        self.buttons: dict[int, ui.button] = {}
        with ui.dialog() as self.dialog, ui.card().classes('w-[28rem] max-w-full'):
            self.title = ui.label().classes('text-lg font-semibold')
            with ui.column().classes('w-full gap-1'):
                self._group(_('Lab, imaging and procedures'), [q for q in destinations if q.kind != QueueKind.DOCTOR])
                self._group(_('Another doctor'), [q for q in destinations if q.kind == QueueKind.DOCTOR])
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')

    def _group(self, caption: str, queues: list[Queue]) -> None:
        if queues:
            ui.label(caption).classes('text-sm text-slate-500 mt-1')
        for q in queues:
            self.buttons[q.id] = ui.button(self.names[q.id], on_click=lambda q=q.id: self.send(q)) \
                .props('flat no-caps align=left').classes('w-full').mark(f'send-to-{q.prefix}')

    def open(self, ticket: queue.TicketView) -> None:
        """Ask where ``ticket`` goes: every queue but the one it is in."""
        self.ticket = ticket
        self.title.set_text(_('Send {ticket} ({patient}) to…').format(ticket=ticket.label, patient=ticket.patient_name))
        for queue_id, button in self.buttons.items():
            button.set_visibility(queue_id != ticket.queue_id)
        self.dialog.open()

    async def send(self, queue_id: int) -> None:
        ticket = self.ticket
        self.dialog.close()
        if ticket is not None:
            await staff_action(lambda s: queue.transfer(s, self.actor, ticket.id, to_queue_id=queue_id,
                                                        tz=clinic_settings.current().tz, now=utcnow()),
                               success=_('{ticket} sent to {queue}').format(ticket=ticket.label,
                                                                            queue=self.names[queue_id]))

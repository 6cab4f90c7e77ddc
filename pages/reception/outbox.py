"""The outbox: the messages to patients (email, SMS, Zalo) that were sent, are waiting, or failed (with the
provider's reason and "Send again")."""
from __future__ import annotations

import math
from datetime import datetime
from html import escape

from nicegui import ui

from clinic_ui.live import subscribe
from clinic_ui.routes import staff_page
from clinic_ui.stations import RECEPTION
from clinic_ui.widgets import on_row, section_title, staff_action, staff_read, translated_columns
from models import MessageChannel, OutboxStatus
from services import clinic_settings, outbox, phones
from services.access import Actor
from services.core import i18n
from services.core.events import OutboxChanged
from services.core.i18n import N_, _

PAGE_SIZE = 25
CHANNEL_LABELS = {MessageChannel.EMAIL.value: N_('Email'), MessageChannel.SMS.value: N_('SMS'),
                  MessageChannel.ZALO.value: N_('Zalo')}
STATUS_LABELS = {OutboxStatus.PENDING.value: N_('Pending'), OutboxStatus.SENDING.value: N_('Sending'),
                 OutboxStatus.SENT.value: N_('Sent'), OutboxStatus.FAILED.value: N_('Failed')}
COLUMNS = [
    {'name': 'created', 'label': N_('Queued'), 'field': 'created', 'align': 'left'},
    {'name': 'channel', 'label': N_('Channel'), 'field': 'channel', 'align': 'left'},
    {'name': 'to', 'label': N_('To'), 'field': 'to', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'subject', 'label': N_('Subject'), 'field': 'subject', 'align': 'left'},
    {'name': 'status', 'label': N_('Status'), 'field': 'status', 'align': 'left'},
    {'name': 'attempts', 'label': N_('Attempts'), 'field': 'attempts', 'align': 'right'},
    {'name': 'next', 'label': N_('Next attempt / sent'), 'field': 'next', 'align': 'left'},
    {'name': 'error', 'label': N_('Last error'), 'field': 'error', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
STATUS_COLORS = {'pending': 'blue-grey', 'sending': 'primary', 'sent': 'positive', 'failed': 'negative'}
# The "Send again" button lives in a Quasar slot; a click reaches Python as the table's "requeue" event.
ACTIONS_SLOT = r'''
<q-td :props="props">
  <q-btn v-if="props.row.status === 'failed'" label="{send_again}" icon="send" size="sm" flat no-caps
         color="primary" @click="() => $parent.$emit('requeue', props.row.id)" />
</q-td>
'''
STATUS_SLOT = r'''
<q-td :props="props"><q-badge :color="props.row.color" :label="props.row.status_label" /></q-td>
'''


def _time_text(moment: datetime | None, tz) -> str:
    if moment is None:
        return ''
    local = moment.astimezone(tz)
    return f'{local:%d/%m} {i18n.clock(local)}'


def _table_row(row: outbox.OutboxRow, tz) -> dict:
    waiting = row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
    to = row.to_address if row.channel == MessageChannel.EMAIL else phones.shown(row.to_address)
    return {'id': row.id, 'created': _time_text(row.created_at, tz), 'channel': _(CHANNEL_LABELS[row.channel.value]),
            'to': to, 'subject': row.subject,
            'status': row.status.value, 'status_label': _(STATUS_LABELS[row.status.value]),
            'color': STATUS_COLORS[row.status.value], 'attempts': row.attempts,
            'next': _time_text(row.next_attempt_at if waiting else row.sent_at, tz), 'error': row.last_error}


@staff_page(RECEPTION, '/outbox', title=N_('Outbox'))
async def outbox_page(actor: Actor):
    emails = Outbox(actor)
    subscribe(OutboxChanged, emails.refresh)
    await emails.load()


class Outbox:
    """The messages to patients, newest first, a page at a time, filtered by status and channel; a failed one can be
    sent again."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-center justify-between'):
            self.title = section_title(_('Messages to patients'))
            with ui.row().classes('items-center gap-2'):
                self.channel = ui.select({'': _('All'), **{value: _(label) for value, label in CHANNEL_LABELS.items()}},
                                         value='', label=_('Channel')) \
                    .props('outlined dense').classes('w-32').mark('outbox-channel')
                self.status = ui.select({'': _('All'), **{value: _(label) for value, label in STATUS_LABELS.items()}},
                                        value='', label=_('Status')) \
                    .props('outlined dense').classes('w-40').mark('outbox-status')
        no_data = _('No messages.')
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[],
                              row_key='id', pagination=PAGE_SIZE) \
            .props(f'flat bordered wrap-cells hide-pagination no-data-label="{no_data}"').classes('w-full') \
            .mark('outbox-table')
        self.table.add_slot('body-cell-actions', ACTIONS_SLOT.replace('{send_again}', escape(_('Send again'))))
        self.table.add_slot('body-cell-status', STATUS_SLOT)
        self.pager = ui.pagination(1, 1, direction_links=True).mark('outbox-pages')
        self.status.on_value_change(self.filter)
        self.channel.on_value_change(self.filter)
        self.pager.on_value_change(self.load)
        on_row(self.table, 'requeue', self.send_again)

    async def refresh(self) -> None:
        await self.load(touch=False)

    async def load(self, *, touch: bool = True) -> None:
        status = OutboxStatus(self.status.value) if self.status.value else None
        channel = MessageChannel(self.channel.value) if self.channel.value else None
        offset = (self.pager.value - 1) * PAGE_SIZE
        answer = await staff_read(lambda s: outbox.list_outbox(s, self.actor, status=status, channel=channel,
                                                               offset=offset, limit=PAGE_SIZE), touch=touch)
        if answer is not None:
            self.show(*answer)

    def show(self, rows: list[outbox.OutboxRow], total: int) -> None:
        tz = clinic_settings.current().tz
        self.table.rows = [_table_row(row, tz) for row in rows]
        self.title.set_text(_('Messages to patients ({count})').format(count=i18n.number(total)))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        self.pager.max = pages
        self.pager.set_visibility(pages > 1)
        if self.pager.value > pages:  # the last page emptied meanwhile: show the new last one
            self.pager.value = pages  # triggers another load

    async def filter(self) -> None:
        if self.pager.value != 1:
            self.pager.value = 1  # the pager's change handler reloads
        else:
            await self.load()

    async def send_again(self, row: dict) -> None:
        await staff_action(lambda s: outbox.requeue(s, self.actor, row['id']),
                           success=_('The message will be sent again shortly.'))
        await self.load()

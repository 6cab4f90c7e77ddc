"""Administration: vouchers (issue one with a typed or generated code, find them a page at a time, deactivate or
reactivate, see on which bills each was used)."""
from __future__ import annotations

import json
from html import escape

from nicegui import ui

from clinic_ui.pickers import date_field
from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import (
    back_link,
    error_text,
    money,
    on_row,
    section_title,
    staff_action,
    staff_read,
    translated_columns,
)
from services import clinic_settings, vouchers
from services.access import Actor
from services.core import i18n
from services.core.clock import local_today
from services.core.errors import DomainError
from services.core.i18n import N_, _

from .parts import PAGE_SIZE, Pager

COLUMNS = [
    {'name': 'code', 'label': N_('Code'), 'field': 'code', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'value', 'label': N_('Discount'), 'field': 'value', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'validity', 'label': N_('Valid'), 'field': 'validity', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'services', 'label': N_('Applies to'), 'field': 'services', 'align': 'left'},
    {'name': 'uses', 'label': N_('Uses'), 'field': 'uses', 'align': 'right', 'classes': 'whitespace-nowrap',
     'headerClasses': 'whitespace-nowrap'},
    {'name': 'state', 'label': N_('State'), 'field': 'state', 'align': 'left'},
    {'name': 'actions', 'label': '', 'field': 'id', 'align': 'right'},
]
USE_COLUMNS = [
    {'name': 'invoice', 'label': N_('Invoice'), 'field': 'invoice', 'align': 'left'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient', 'align': 'left'},
    {'name': 'at', 'label': N_('When'), 'field': 'at', 'align': 'left', 'classes': 'whitespace-nowrap'},
    {'name': 'discount', 'label': N_('Discount'), 'field': 'discount', 'align': 'right'},
    {'name': 'by', 'label': N_('Cashier'), 'field': 'by', 'align': 'left'},
    {'name': 'state', 'label': N_('State'), 'field': 'state', 'align': 'left'},
]
STATE_COLORS = {'active': 'positive', 'upcoming': 'info', 'expired': 'grey-6', 'used_up': 'warning',
                'inactive': 'grey-6'}
CODE_SLOT = r'''
<q-td :props="props">
  <div class="font-mono font-semibold">{{ props.row.code }}</div>
  <div v-if="props.row.description" class="text-xs text-slate-600 whitespace-normal max-w-[12rem]">
    {{ props.row.description }}</div>
</q-td>'''
STATE_SLOT = r'''
<q-td :props="props">
  <q-badge :color="props.row.state_color" :label="props.row.state" />
</q-td>'''


def actions_slot() -> str:
    """The row's buttons (labels in the reader's language: the slot is a template, so they go in as JSON)."""
    def button(choice: str, label: str, icon: str, color: str, condition: str) -> str:
        return (f'<q-btn v-if="{condition}" :label="{escape(json.dumps(label), quote=True)}" icon="{icon}" '
                f'size="sm" flat dense no-caps no-wrap color="{color}" '
                f'@click="() => $parent.$emit(\'voucher_action\', [\'{choice}\', props.row.id])" />')
    return ('<q-td :props="props"><div class="column items-start no-wrap whitespace-nowrap">'
            + button('usage', _('Usage'), 'receipt_long', 'primary', 'true')
            + button('deactivate', _('Deactivate'), 'block', 'negative', 'props.row.active')
            + button('reactivate', _('Reactivate'), 'undo', 'primary', '!props.row.active')
            + '</div></q-td>')


def day_text(value) -> str:
    return value.strftime('%d/%m/%Y')


def value_text(percent_off: int | None, amount_off: int | None) -> str:
    return _('{percent}% off').format(percent=percent_off) if percent_off is not None else \
        _('{amount} off').format(amount=money(amount_off))


def validity_text(row: vouchers.VoucherRow) -> str:
    if row.valid_from and row.valid_until:
        return f'{day_text(row.valid_from)} – {day_text(row.valid_until)}'
    if row.valid_from:
        return _('from {day}').format(day=day_text(row.valid_from))
    if row.valid_until:
        return _('until {day}').format(day=day_text(row.valid_until))
    return _('any day')


def _row(row: vouchers.VoucherRow, today) -> dict:
    state = row.state(today)
    return {'id': row.id, 'code': row.code, 'description': row.description,
            'value': value_text(row.percent_off, row.amount_off), 'validity': validity_text(row),
            'services': ', '.join(row.services) if row.services else _('The whole bill'),
            'uses': f'{i18n.number(row.uses)} / {i18n.number(row.max_uses)}',
            'state': _(vouchers.STATE_LABELS[state]), 'state_color': STATE_COLORS[state], 'active': row.is_active}


class NewVoucherDialog:
    """The form of a new voucher: its code (typed, or generated), a percentage or an amount off, the days it is
    valid, how many times it may be used, the services it is limited to, a description."""

    def __init__(self, actor: Actor, services: dict[int, str], on_created) -> None:
        self.actor, self.on_created = actor, on_created
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-xl gap-2').mark('voucher-dialog'):
            ui.label(_('New voucher')).classes('text-xl font-semibold')
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                hint = _('4 to 40 letters, digits or dashes; any case')
                self.code = ui.input(_('Code')).props(f'outlined dense input-class=font-mono hint="{hint}"') \
                    .classes('grow').mark('voucher-code')
                ui.button(_('Generate'), icon='casino', on_click=self.generate).props('outline no-caps') \
                    .classes('mt-1').mark('generate-code')
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                self.kind = ui.toggle({'percent': _('Percent off'), 'amount': _('Amount off')}, value='percent') \
                    .props('no-caps unelevated toggle-color=primary').classes('mt-1').mark('voucher-kind')
                self.value = ui.input(_('Percent (1–100)')).props('outlined dense inputmode=numeric') \
                    .classes('grow').mark('voucher-value')
                self.kind.on_value_change(self.kind_changed)
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                self.valid_from = date_field(_('Valid from (dd/mm/yyyy)')).props('outlined dense clearable') \
                    .classes('grow').mark('voucher-from')
                self.valid_until = date_field(_('Valid until (dd/mm/yyyy)')).props('outlined dense clearable') \
                    .classes('grow').mark('voucher-until')
            self.services = ui.select(services, multiple=True, with_input=True,
                                      label=_('Only for these services (none: the whole bill)')) \
                .props('outlined dense use-chips').classes('w-full').mark('voucher-services')
            with ui.row().classes('w-full items-start gap-2 no-wrap'):
                self.max_uses = ui.number(_('Uses allowed'), value=1, min=1, step=1, precision=0, format='%d') \
                    .props('outlined dense').classes('w-36').mark('voucher-max-uses')
                self.description = ui.input(_('Description or campaign (optional)')) \
                    .props('outlined dense maxlength=200').classes('grow').mark('voucher-description')
            self.error = error_text()
            with ui.row().classes('w-full justify-end gap-2'):
                ui.button(_('Cancel'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Create voucher'), icon='add', on_click=self.save).props('unelevated no-caps') \
                    .mark('save-voucher')
        self.dialog.open()

    def generate(self) -> None:
        self.code.set_value(vouchers.generate_code())

    def kind_changed(self) -> None:
        currency = clinic_settings.current().currency
        self.value.props['label'] = _('Percent (1–100)') if self.kind.value == 'percent' else \
            _('Amount ({currency})').format(currency=currency)
        self.value.update()

    async def save(self) -> None:
        try:
            percent, amount = vouchers.read_value(self.kind.value, self.value.value,
                                                  clinic_settings.current().currency_exponent)
            valid_from = vouchers.read_day(self.valid_from.value, 'valid_from')
            valid_until = vouchers.read_day(self.valid_until.value, 'valid_until')
            max_uses = vouchers.read_uses(self.max_uses.value)
        except DomainError as e:
            self.error.set_text(str(e))
            return
        code, services, description = self.code.value or '', list(self.services.value or []), self.description.value
        created = await staff_action(lambda s: vouchers.create_voucher(
            s, self.actor, code=code, percent_off=percent, amount_off=amount, valid_from=valid_from,
            valid_until=valid_until, max_uses=max_uses, service_ids=services, description=description or ''),
            error_label=self.error, success=_('Voucher {code} created.').format(code=code.strip().upper()))
        if created is not None:
            self.dialog.close()
            await self.on_created()


async def show_usage(actor: Actor, voucher_id: int) -> None:
    """Where a voucher was used: each bill, when, how much it took off, by whom, and uses given back."""
    found = await staff_read(lambda s: vouchers.voucher_usage(s, actor, voucher_id))
    if found is None:
        return
    voucher, uses = found
    tz = clinic_settings.current().tz
    rows = [{'id': n, 'invoice': u.invoice_number, 'patient': u.patient,
             'at': u.used_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'), 'discount': money(u.discount),
             'by': u.used_by or '—',
             'state': _('in use') if u.released_at is None else _('given back {when}').format(
                 when=u.released_at.astimezone(tz).strftime('%d/%m/%Y %H:%M'))}
            for n, u in enumerate(uses)]
    with ui.dialog() as dialog, ui.card().classes('w-full max-w-4xl gap-2').mark('usage-dialog'):
        with ui.row().classes('w-full items-baseline gap-3'):
            ui.label(voucher.code).classes('text-xl font-semibold font-mono')
            ui.label(value_text(voucher.percent_off, voucher.amount_off)).classes('text-slate-700')
            ui.label(_('{used} of {count} uses taken').format(used=i18n.number(voucher.uses),
                                                              count=i18n.number(voucher.max_uses))) \
                .classes('text-slate-700').mark('usage-count')
        empty = _('Not used yet.')
        ui.table(columns=translated_columns(USE_COLUMNS), rows=rows, row_key='id') \
            .props(f'flat bordered dense wrap-cells no-data-label="{empty}"').classes('w-full') \
            .mark('usage-table')
        with ui.row().classes('w-full justify-end'):
            ui.button(_('Close'), on_click=dialog.close).props('flat no-caps')
    dialog.open()


class VoucherList:
    """The vouchers, newest first, searched by code in the database a page at a time."""

    def __init__(self, actor: Actor, services: dict[int, str]) -> None:
        self.actor, self.services = actor, services
        with ui.row().classes('w-full items-center gap-3'):
            self.title = section_title(_('Vouchers'))
            ui.space()
            self.search = ui.input(placeholder=_('Search code or campaign')) \
                .props('outlined dense clearable debounce=300').classes('w-72').mark('voucher-search')
            ui.button(_('New voucher'), icon='add', on_click=self.create).props('unelevated no-caps') \
                .mark('new-voucher')
        empty = _('No vouchers match.')
        self.table = ui.table(columns=translated_columns(COLUMNS), rows=[], row_key='id') \
            .props(f'flat bordered wrap-cells hide-pagination no-data-label="{empty}"') \
            .classes('w-full').mark('voucher-table')
        self.table.add_slot('body-cell-code', CODE_SLOT)
        self.table.add_slot('body-cell-state', STATE_SLOT)
        self.table.add_slot('body-cell-actions', actions_slot())
        on_row(self.table, 'voucher_action', self.act, choices=('usage', 'deactivate', 'reactivate'))
        self.pager = Pager(self.load)
        self.search.on_value_change(self.pager.restart)

    async def load(self, touch: bool = True) -> None:
        found = await staff_read(lambda s: vouchers.list_vouchers(
            s, self.actor, search=self.search.value or '', offset=self.pager.offset, limit=PAGE_SIZE), touch=touch)
        if found is not None:
            self.show(*found)

    def show(self, rows: list[vouchers.VoucherRow], total: int) -> None:
        today = local_today(clinic_settings.current().tz)
        self.table.rows = [_row(row, today) for row in rows]
        self.title.set_text(_('Vouchers ({count})').format(count=i18n.number(total)))
        self.pager.show(len(rows), total)

    async def create(self) -> None:
        NewVoucherDialog(self.actor, self.services, self.load)

    async def act(self, choice: str, row: dict) -> None:
        if choice == 'usage':
            await show_usage(self.actor, row['id'])
            return
        active = choice == 'reactivate'
        done = await staff_action(lambda s: vouchers.set_voucher_active(s, self.actor, row['id'], active),
                                  success=(_('Voucher {code} reactivated.') if active else
                                           _('Voucher {code} deactivated.')).format(code=row['code']))
        if done is not None:
            await self.load()


@staff_page(ADMIN, '/admin/vouchers', title=N_('Vouchers'))
async def vouchers_page(actor: Actor):
    services = await staff_read(lambda s: vouchers.service_choices(s, actor))
    if services is None:
        return
    back_link()
    ui.label(_('A voucher takes a percentage or an amount off a bill, or off the lines of chosen services. '
               'The cashier types its code; each use is counted.')).classes('text-sm text-slate-600')
    listing = VoucherList(actor, services)
    await listing.load()

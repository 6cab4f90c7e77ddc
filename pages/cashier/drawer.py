"""The cashier's drawer at the end of the day: the cash counted (a total, or notes by denomination) against the cash
expected, the close (after which the day takes no more payments or refunds from this cashier), the printed close
sheet; an administrator sees every cashier's day and reopens a closed one with a reason."""
from __future__ import annotations

from datetime import date

from nicegui import ui

from clinic_ui.widgets import error_text, money, section_title, staff_action, staff_read
from models.types import utcnow
from services import cashier_close, clinic_settings
from services.access import Actor
from services.cashier_close import DENOMINATIONS, Drawer
from services.core.errors import DomainError, ValidationError
from services.core.i18n import _
from services.core.money import parse_money
from services.patients import parse_date

from .downloads import close_sheet_url


def _amount(text: str) -> int:
    return parse_money(text, clinic_settings.current().currency_exponent)


def _closed_text(drawer: Drawer) -> str:
    tz = clinic_settings.current().tz
    row = drawer.close
    text = _('Closed at {time} by {name}: expected {expected}, counted {counted}, difference {difference}.').format(
        time=row.closed_at.astimezone(tz).strftime('%H:%M'), name=drawer.closed_by, expected=money(row.expected),
        counted=money(row.counted), difference=money(row.difference))
    if row.reason:
        text += ' ' + _('Reason: {reason}').format(reason=row.reason)
    return text


def _reopened_text(drawer: Drawer) -> str:
    row = drawer.close
    return _('Reopened at {time} by {name}: {reason}').format(
        time=row.reopened_at.astimezone(clinic_settings.current().tz).strftime('%H:%M'), name=drawer.reopened_by,
        reason=row.reopen_reason)


class ReopenDialog:
    """An administrator reopens a cashier's closed day, with a reason."""

    def __init__(self, actor: Actor, drawer: Drawer, on_done) -> None:
        self.actor, self.close_id, self.on_done = actor, drawer.close.id, on_done
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-md gap-2').mark('reopen-dialog'):
            ui.label(_('Reopen the day of {name}?').format(name=drawer.cashier)).classes('text-xl font-semibold')
            ui.label(_('They can then take payments and refunds on {day} again, and close it once more.').format(
                day=drawer.day.strftime('%d/%m/%Y'))).classes('text-sm text-slate-600')
            self.reason = ui.input(_('Reason (required)')).props('outlined dense').classes('w-full') \
                .mark('reopen-reason')
            self.error = error_text()
            with ui.row().classes('w-full justify-end'):
                ui.button(_('Back'), on_click=self.dialog.close).props('flat no-caps')
                ui.button(_('Reopen the day'), on_click=self.reopen).props('unelevated no-caps') \
                    .mark('confirm-reopen')
        self.dialog.open()

    async def reopen(self) -> None:
        reason = self.reason.value or ''
        done = await staff_action(lambda s: cashier_close.reopen_day(s, self.actor, self.close_id, reason,
                                                                     now=utcnow()),
                                  error_label=self.error, success=_('The day is open again.'))
        if done is not None:
            self.dialog.close()
            await self.on_done()


class DrawerPanel:
    """My drawer: count, close, the closed state with its sheet; for an administrator, every cashier's day."""

    def __init__(self, actor: Actor, today: date) -> None:
        self.actor = actor
        self.drawer: Drawer | None = None
        settings = clinic_settings.current()
        with ui.row().classes('w-full items-center gap-2'):
            section_title(_('My drawer'))
            self.day = ui.input(_('Day'), value=today.strftime('%d/%m/%Y')).props('outlined dense') \
                .classes('w-36').mark('drawer-day')
        self.day.on('keydown.enter', self.load)
        self.day.on('blur', self.day_changed)
        self.shown_day: date | None = None
        with ui.card().classes('w-full gap-2').mark('drawer-card'):
            self.figures = ui.label().classes('text-slate-700').mark('drawer-figures')
            self.form = ui.column().classes('w-full gap-2')
            with self.form:
                with ui.row().classes('w-full items-start gap-3'):
                    self.float = ui.input(_('Opening float'), value=money_text(settings.opening_cash_float),
                                          on_change=self.update).props('outlined dense inputmode=decimal') \
                        .classes('w-44').mark('drawer-float')
                    self.counted = ui.input(_('Cash counted'), on_change=self.update) \
                        .props('outlined dense inputmode=decimal').classes('w-44').mark('drawer-counted')
                    self.reason = ui.input(_('Reason for a difference')).props('outlined dense') \
                        .classes('grow min-w-[16rem]').mark('drawer-reason')
                self.notes: dict[int, ui.number] = {}
                if settings.currency == 'VND':
                    with ui.expansion(_('Count by notes'), icon='payments').classes('w-full').mark('drawer-notes'):
                        with ui.grid(columns=5).classes('w-full gap-2'):
                            for value in DENOMINATIONS:
                                self.notes[value] = ui.number(money(value), min=0, precision=0, format='%d',
                                                              on_change=self.update) \
                                    .props('outlined dense').classes('w-full').mark(f'note-{value}')
                self.summary = ui.label().classes('text-lg font-semibold').mark('drawer-summary')
                with ui.row().classes('w-full items-center gap-2'):
                    ui.label(_('Once closed, you can take no more payments or refunds on this day.')) \
                        .classes('text-sm text-slate-600')
                    ui.space()
                    ui.button(_('Close my day'), icon='lock', on_click=self.close) \
                        .props('unelevated no-caps').mark('drawer-close')
            self.state = ui.row().classes('w-full items-center gap-2 no-wrap')
            self.error = error_text()
        self.everyone = ui.column().classes('w-full gap-1').mark('drawer-everyone')
        self.dialogs = ui.element()  # outside what redraws: a dialog stays while the list is read again

    # -- reading --

    def chosen_day(self) -> date:
        day = parse_date(self.day.value or '')
        if day is None:
            raise ValidationError(_('Please enter the day as dd/mm/yyyy.'))
        return day

    async def day_changed(self) -> None:
        if parse_date(self.day.value or '') != self.shown_day:
            await self.load()

    async def load(self, *, touch: bool = True) -> None:
        self.error.set_text('')
        try:
            day = self.chosen_day()
        except DomainError as e:
            self.error.set_text(str(e))
            return
        self.shown_day = day
        tz = clinic_settings.current().tz
        found = await staff_read(lambda s: cashier_close.drawer(s, self.actor, day, tz=tz), error_label=self.error,
                                 touch=touch)
        if found is None:
            return
        self.show(found)
        if self.actor.is_admin:
            everyone = await staff_read(lambda s: cashier_close.drawers(s, self.actor, day, tz=tz),
                                        error_label=self.error, touch=False)
            if everyone is not None:
                self.show_everyone(everyone)

    def notes_counted(self) -> dict[int, int]:
        return {value: int(field.value) for value, field in self.notes.items() if field.value}

    def update(self) -> None:
        """Expected, counted and the difference as typed so far."""
        if self.drawer is None:
            return
        notes = self.notes_counted()
        try:
            opening = _amount(self.float.value or '0')
            counted = cashier_close.count_notes(notes) if notes else (
                _amount(self.counted.value) if (self.counted.value or '').strip() else None)
        except DomainError:
            self.summary.set_text(_('Expected {expected}').format(expected=money(self.drawer.expected(0))))
            return
        if notes:
            self.counted.value = money_text(counted)
        expected = self.drawer.expected(opening)
        if counted is None:
            self.summary.set_text(_('Expected {expected}').format(expected=money(expected)))
            return
        self.summary.set_text(_('Expected {expected} · counted {counted} · difference {difference}').format(
            expected=money(expected), counted=money(counted), difference=money(counted - expected)))

    def show(self, drawer: Drawer) -> None:
        self.drawer = drawer
        cash = drawer.cash
        self.figures.set_text(_('Payments: {payments} ({received}) · refunds: {refunds} ({refunded}) · cash received '
                                '{cash_in}, cash refunded {cash_out}').format(
            payments=drawer.total('payments'), received=money(drawer.total('received')),
            refunds=drawer.total('refunds'), refunded=money(drawer.total('refunded')), cash_in=money(cash.received),
            cash_out=money(cash.refunded)))
        self.form.set_visibility(not drawer.is_closed)
        self.state.clear()
        with self.state:
            if drawer.is_closed:
                ui.icon('lock').classes('text-emerald-700')
                ui.label(_closed_text(drawer)).classes('text-emerald-800 font-semibold').mark('drawer-state')
                ui.space()
                sheet = close_sheet_url(drawer.close.id)
                ui.button(_('Close sheet (PDF)'), icon='print', on_click=lambda: ui.navigate.to(sheet, new_tab=True)) \
                    .props('outline no-caps').classes('shrink-0').mark('drawer-sheet')
            elif drawer.close is not None:
                ui.icon('lock_open').classes('text-amber-700')
                ui.label(_reopened_text(drawer)).classes('text-amber-800').mark('drawer-state')
        self.update()

    def show_everyone(self, drawers: list[Drawer]) -> None:
        self.everyone.clear()
        with self.everyone:
            section_title(_("Cashiers' days"))
            if not drawers:
                ui.label(_('No cashier took money on this day.')).classes('text-slate-600')
            for drawer in drawers:
                self.cashier_row(drawer)

    def cashier_row(self, drawer: Drawer) -> None:
        """One cashier's day for the administrator: figures, state, the sheet and the reopen button."""
        with ui.row().classes('w-full items-center gap-3 border-b py-1 no-wrap').mark('drawer-of'):
            ui.label(drawer.cashier).classes('w-44 shrink-0 font-semibold')
            ui.label(_('Net {net} · cash {cash}').format(net=money(drawer.total('net')), cash=money(drawer.cash.net))) \
                .classes('w-56 shrink-0')
            if drawer.is_closed:
                row = drawer.close
                ui.label(_('Closed at {time} · difference {difference}').format(
                    time=row.closed_at.astimezone(clinic_settings.current().tz).strftime('%H:%M'),
                    difference=money(row.difference))).classes('grow min-w-0 text-emerald-800').tooltip(_closed_text(drawer))
                sheet = close_sheet_url(row.id)
                ui.button(_('Close sheet (PDF)'), icon='print', on_click=lambda: ui.navigate.to(sheet, new_tab=True)) \
                    .props('flat no-caps').classes('shrink-0')
                ui.button(_('Reopen'), icon='lock_open', on_click=lambda: self.reopen(drawer)) \
                    .props('outline no-caps').classes('shrink-0').mark('drawer-reopen')
            else:
                ui.label(_reopened_text(drawer) if drawer.close else _('Open')).classes('grow text-slate-600')

    def reopen(self, drawer: Drawer) -> None:
        with self.dialogs:
            ReopenDialog(self.actor, drawer, self.load)

    # -- closing --

    async def close(self) -> None:
        self.error.set_text('')
        try:
            day = self.chosen_day()
            opening = _amount(self.float.value or '0')
            notes = self.notes_counted()
            counted = None if notes or not (self.counted.value or '').strip() else _amount(self.counted.value)
        except DomainError as e:
            self.error.set_text(str(e))
            return
        reason, tz = self.reason.value or '', clinic_settings.current().tz
        done = await staff_action(lambda s: cashier_close.close_day(
            s, self.actor, day, counted=counted, notes=notes, opening_float=opening, reason=reason, tz=tz,
            now=utcnow()), error_label=self.error, success=_('Your day is closed.'))
        if done is not None:
            await self.load()

    async def on_billing(self, event) -> None:
        if event.action in ('payment', 'refund'):
            await self.load(touch=False)


def money_text(amount: int) -> str:
    """An amount as the cashier types it (no currency sign): ``500000``."""
    exponent = clinic_settings.current().currency_exponent
    return str(amount) if not exponent else f'{amount / 10 ** exponent:.{exponent}f}'

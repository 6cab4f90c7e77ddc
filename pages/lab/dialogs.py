"""The result of one order: text, one value row per analyte of the test's panel (unit and reference range shown,
the flag previewed as the value is typed) plus extra rows added on the spot, attached images or PDFs; saved,
completed (or corrected), and the patient sent back to the doctor."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from nicegui import events, ui

from clinic_ui.lab_flags import show_flag
from clinic_ui.widgets import error_text, staff_action, staff_read
from models import OrderStatus, ResultFlag
from models.types import utcnow
from services import clinic_settings, files, lab_results, orders
from services.access import Actor
from services.core.i18n import N_, _
from services.orders import ResultValue

VALUE_ROWS = 4  # empty rows offered for a test without a panel
VALUE_LABELS = (N_('Analyte'), N_('Value'), N_('Unit'), N_('Reference range'))
PANEL_ROW = 'w-full items-center gap-2 no-wrap'
ACCEPTED = '.png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf'


class ResultDialog:
    """The technician's form for one order's result."""

    def __init__(self, actor: Actor, view: orders.OrderView) -> None:
        self.actor = actor
        self.view = view
        settings = clinic_settings.current()
        self.max_mb = settings.upload_max_mb
        with ui.dialog() as self.dialog, ui.card().classes('w-full max-w-3xl gap-3').mark('result-dialog'):
            self.describe(view, settings.tz)
            self.result = ui.textarea(_('Result'), value=view.result_text).props('outlined autogrow') \
                .classes('w-full').mark('result-text')
            ui.label(_('Values') if view.panel else _('Values (optional)')) \
                .classes('text-sm font-medium text-slate-700')
            self.values = ValueRows(view.panel, view.values)
            self.files = ui.column().classes('gap-0')
            self.show_files(view.files)
            self.error = error_text()
            self.upload = ui.upload(label=_('Attach image or PDF (max {size} MB)').format(size=self.max_mb),
                                    auto_upload=True, on_upload=self.attach, max_file_size=self.max_mb * 1_048_576) \
                .props(f'accept="{ACCEPTED}" flat bordered').classes('w-full').mark('upload')
            self.upload.on_rejected(lambda: self.error.set_text(
                _('The file is larger than {size} MB.').format(size=self.max_mb)))
            self.buttons(view.status)

    @staticmethod
    def describe(view: orders.OrderView, tz: ZoneInfo) -> None:
        ui.label(view.service_name).classes('text-xl font-semibold')
        facts = {'patient': view.patient_name, 'code': view.patient_code, 'doctor': view.ordered_by,
                 'time': f'{view.ordered_at.astimezone(tz):%H:%M}'}
        if view.date_of_birth:
            who = _('{patient} · {code}, born {born} · ordered by {doctor} at {time}').format(
                born=f'{view.date_of_birth:%d/%m/%Y}', **facts)
        else:
            who = _('{patient} · {code} · ordered by {doctor} at {time}').format(**facts)
        ui.label(who).classes('text-slate-600')
        if view.notes:
            ui.label(_('Note: {note}').format(note=view.notes)).classes('text-amber-800')

    def buttons(self, status: OrderStatus) -> None:
        with ui.row().classes('w-full justify-end gap-2'):
            ui.button(_('Back to the doctor'), icon='undo', on_click=self.send_back).props('flat no-caps') \
                .mark('back-to-doctor')
            if self.view.values or self.view.result_text:
                ui.link(_('Print'), f'/lab/results/{self.view.id}.pdf', new_tab=True).classes('self-center') \
                    .mark('print-result')
            ui.button(_('Close'), on_click=self.dialog.close).props('flat no-caps')
            if status != OrderStatus.CANCELLED:
                ui.button(_('Save'), on_click=self.save).props('outline no-caps').mark('save-result')
                ui.button(_('Complete') if status != OrderStatus.COMPLETED else _('Save correction'), icon='check',
                          on_click=self.complete).props('unelevated no-caps').mark('complete-result')

    def open(self) -> None:
        self.dialog.open()

    def show_files(self, items: list[orders.FileView]) -> None:
        self.files.clear()
        with self.files:
            for f in items:
                ui.link(f'📎 {f.filename} ({f.size_bytes // 1024 + 1} KB)', f'/lab/files/{f.id}', new_tab=True) \
                    .classes('text-sm')

    async def attach(self, event: events.UploadEventArguments) -> None:
        """Store an uploaded file with the order, then list the order's files again."""
        settings, data = clinic_settings.current(), await event.file.read()
        stored = await staff_action(lambda s: files.upload(
            s, self.actor, self.view.id, filename=event.file.name, data=data, max_bytes=self.max_mb * 1_048_576,
            data_dir=settings.data_dir, now=utcnow()), error_label=self.error, success=_('File attached.'))
        self.upload.reset()
        if stored is not None:
            fresh = await staff_read(lambda s: orders.order(s, self.actor, self.view.id))
            if fresh is not None:
                self.show_files(fresh.files)

    async def save(self) -> None:
        await self.record(complete=False)

    async def complete(self) -> None:
        await self.record(complete=True)

    async def record(self, *, complete: bool) -> None:
        values = self.values.entered()
        done = await staff_action(lambda s: orders.record_result(
            s, self.actor, self.view.id, text=self.result.value or '', values=values, complete=complete,
            now=utcnow()), error_label=self.error,
            success=_('Result completed: the doctor sees it now.') if complete else _('Result saved.'))
        if done is not None and complete:
            self.dialog.close()

    async def send_back(self) -> None:
        """Send the patient back to the doctor's queue (they keep their place there)."""
        label = await staff_action(lambda s: orders.send_back_to_doctor(
            s, self.actor, self.view.visit_id, tz=clinic_settings.current().tz, now=utcnow()))
        if label == '':
            ui.notify(_('This patient has no ticket in a station queue: please send them back in person.'),
                      type='info')
        elif label is not None:
            ui.notify(_('Sent back to the doctor: ticket {ticket}.').format(ticket=label), type='positive')
            self.dialog.close()


class ValueRows:
    """The values, scrolling when long (a full blood count has about 18): one row per panel analyte with its
    unit, range and flag, then the extra rows (name, value, unit, range typed), and "Add row" for one more. A text
    value ("positive", "++") can be marked abnormal."""

    def __init__(self, panel: list[lab_results.PanelRow], values: list[ResultValue]) -> None:
        on_panel = {row.analyte_id for row in panel}
        saved = {v.analyte_id: v for v in values if v.analyte_id in on_panel}
        extras = [v for v in values if v.analyte_id not in on_panel]
        extras += [ResultValue('', '')] * max((1 if panel else VALUE_ROWS) - len(extras), 0)
        self.panel_inputs: list[tuple[lab_results.PanelRow, ui.input, ui.checkbox]] = []
        self.extra_inputs: list[tuple[list[ui.input], ui.checkbox]] = []
        with ui.column().classes('w-full gap-1 max-h-[50vh] overflow-y-auto pr-1').mark('value-rows'):
            for number, row in enumerate(panel):
                self.panel_row(number, row, saved.get(row.analyte_id))
            self.extras = ui.grid(columns='repeat(4, minmax(0, 1fr)) auto').classes('w-full gap-1 items-center')
            for value in extras:
                self.add_row(value)
        ui.button(_('Add row'), icon='add', on_click=lambda: self.add_row(ResultValue('', ''))) \
            .props('flat dense no-caps').mark('add-value-row')

    @staticmethod
    def abnormal_box(value: ResultValue | None, mark: str) -> ui.checkbox:
        return ui.checkbox(_('Abnormal'), value=value is not None and value.flag == ResultFlag.ABNORMAL) \
            .props('dense').classes('text-sm').tooltip(_('For a text value: mark it abnormal')).mark(mark)

    def panel_row(self, number: int, row: lab_results.PanelRow, saved: ResultValue | None) -> None:
        with ui.row().classes(PANEL_ROW).mark(f'panel-row-{number}'):
            ui.label(row.name).classes('w-40 shrink-0 font-medium').mark(f'panel-name-{number}')
            value = ui.input(value=saved.value if saved else '', placeholder=_('Value')).props('outlined dense') \
                .classes('w-32').mark(f'panel-value-{number}')
            ui.label(row.unit).classes('w-24 text-sm text-slate-600')
            ui.label(row.reference and _('ref. {range}').format(range=row.reference)) \
                .classes('w-32 text-sm text-slate-600')
            with ui.element('div').classes('w-10 shrink-0'):  # the flag's colour replaces its classes: not its width
                flag = ui.label('').mark(f'panel-flag-{number}')
            abnormal = self.abnormal_box(saved, f'panel-abnormal-{number}')

        def preview() -> None:
            show_flag(flag, lab_results.judge(value.value or '', row.limits, marked_abnormal=abnormal.value))
        value.on_value_change(preview)
        abnormal.on_value_change(preview)
        preview()
        self.panel_inputs.append((row, value, abnormal))

    def add_row(self, value: ResultValue) -> None:
        number = len(self.extra_inputs)
        with self.extras:
            cells = [ui.input(_(label) if number == 0 else '', value=text).props('outlined dense')
                     for label, text in zip(VALUE_LABELS, (value.name, value.value, value.unit, value.range))]
            abnormal = self.abnormal_box(value, f'value-abnormal-{number}')
        cells[0].mark(f'value-name-{number}')
        cells[1].mark(f'value-{number}')
        self.extra_inputs.append((cells, abnormal))

    def entered(self) -> list[ResultValue]:
        """What was typed: the panel rows by their analyte (the service fills in unit, range and flag), then the
        extra rows; "abnormal" only as the mark of a text value (the service judges numbers itself)."""
        def mark(box: ui.checkbox) -> ResultFlag:
            return ResultFlag.ABNORMAL if box.value else ResultFlag.NONE
        values = [ResultValue(row.name, value.value or '', flag=mark(box), analyte_id=row.analyte_id)
                  for row, value, box in self.panel_inputs]
        return values + [ResultValue(*(cell.value or '' for cell in cells), flag=mark(box))
                         for cells, box in self.extra_inputs]

"""Lab & imaging: the technicians' live worklist per station (lab, imaging, procedures): take an order, record the
result as text and values, upload images or PDFs, complete it (the ordering doctor's chart shows it at once), and
send the patient back to the doctor."""
from __future__ import annotations

from datetime import timedelta

from nicegui import ui

from clinic_ui import downloads
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import SERVICES
from clinic_ui.widgets import data_table, error_text, on_row, section_title, staff_action
from models import OrderStatus, ServiceKind
from models.types import utcnow
from services import clinic_settings, consultation, files, orders, queue
from services.access import Actor
from services.core.db import get_db
from services.core.events import OrdersChanged
from services.orders import ResultValue

STATIONS = {'lab': ('Laboratory', [ServiceKind.LAB]), 'imaging': ('Imaging', [ServiceKind.IMAGING]),
            'procedure': ('Procedures', [ServiceKind.PROCEDURE])}
STATUS_ORDER = {OrderStatus.IN_PROGRESS: 0, OrderStatus.PENDING: 1, OrderStatus.COMPLETED: 2,
                OrderStatus.CANCELLED: 3}
COLUMNS = [
    {'name': 'ordered', 'label': 'Ordered', 'field': 'ordered'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'service', 'label': 'Service', 'field': 'service'},
    {'name': 'by', 'label': 'Ordered by', 'field': 'by'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
ACTIONS_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" class="q-px-sm"
         :label="props.row.state === 'pending' ? 'Take' : 'Open'" @click="$parent.$emit('open', props.row.id)" />
</q-td>
'''
STATUS_SLOT = r'''
<q-td :props="props">
  <q-badge :color="{pending: 'orange', in_progress: 'blue', completed: 'positive', cancelled: 'grey'}[props.row.state]"
           :label="props.value" />
</q-td>
'''
VALUE_ROWS = 4


def rows_of(views: list[orders.OrderView]) -> list[dict]:
    tz = clinic_settings.current().tz
    views = sorted(views, key=lambda o: (STATUS_ORDER[o.status], o.ordered_at))
    return [{'id': o.id, 'ordered': o.ordered_at.astimezone(tz).strftime('%d/%m %H:%M'),
             'patient': f'{o.patient_name} · {o.patient_code}', 'service': o.service_name, 'by': o.ordered_by,
             'status': o.status.value.replace('_', ' '), 'state': o.status.value} for o in views]


@staff_page(SERVICES, reconnect_timeout=30)
async def lab_page(actor: Actor):
    settings = clinic_settings.current()
    tz = settings.tz
    current = {'station': 'lab'}

    async def load() -> list[orders.OrderView]:
        since = utcnow() - timedelta(hours=12)
        async with get_db().read() as session:
            return await orders.worklist(session, actor, STATIONS[current['station']][1], since=since)

    with ui.row().classes('w-full items-center justify-between gap-3'):
        title = section_title('Worklist')
        ui.toggle({key: name for key, (name, _) in STATIONS.items()}, value='lab',
                  on_change=lambda e: choose(e.value)).props('no-caps unelevated toggle-color=primary') \
            .mark('station')
    counts = ui.label('').classes('text-slate-600').mark('worklist-counts')
    table = data_table(COLUMNS, [], empty='Nothing ordered for this station.', mark='worklist')
    table.add_slot('body-cell-actions', ACTIONS_SLOT)
    table.add_slot('body-cell-status', STATUS_SLOT)

    async def refresh() -> None:
        views = await load()
        table.rows = rows_of(views)
        pending = sum(o.status == OrderStatus.PENDING for o in views)
        running = sum(o.status == OrderStatus.IN_PROGRESS for o in views)
        done = sum(o.status == OrderStatus.COMPLETED for o in views)
        title.set_text(f'Worklist · {STATIONS[current["station"]][0]}')
        counts.set_text(f'{pending} pending · {running} in progress · {done} completed in the last 12 hours')

    async def choose(station: str) -> None:
        current['station'] = station
        await refresh()

    async def open_order(order_id: int) -> None:
        async with get_db().read() as session:
            view = await orders.order(session, actor, order_id)
        if view.status == OrderStatus.PENDING:
            if await staff_action(lambda s: orders.start(s, actor, order_id, now=utcnow())) is None:
                return
            async with get_db().read() as session:
                view = await orders.order(session, actor, order_id)
        result_dialog(view)

    def result_dialog(view: orders.OrderView) -> None:
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-3xl gap-3').mark('result-dialog'):
            ui.label(f'{view.service_name}').classes('text-xl font-semibold')
            born = f', born {view.date_of_birth:%d/%m/%Y}' if view.date_of_birth else ''
            ui.label(f'{view.patient_name} · {view.patient_code}{born} · ordered by {view.ordered_by} at '
                     f'{view.ordered_at.astimezone(tz):%H:%M}').classes('text-slate-600')
            if view.notes:
                ui.label(f'Note: {view.notes}').classes('text-amber-800')
            editable = view.status != OrderStatus.CANCELLED
            result = ui.textarea('Result', value=view.result_text).props('outlined autogrow') \
                .classes('w-full').mark('result-text')
            ui.label('Values (optional)').classes('text-sm font-medium text-slate-700')
            cells = []
            values = view.values + [ResultValue('', '')] * max(VALUE_ROWS - len(view.values), 1)
            with ui.grid(columns=4).classes('w-full gap-1'):
                for number, v in enumerate(values):
                    row = [ui.input('Name' if number == 0 else '', value=v.name).props('outlined dense'),
                           ui.input('Value' if number == 0 else '', value=v.value).props('outlined dense'),
                           ui.input('Unit' if number == 0 else '', value=v.unit).props('outlined dense'),
                           ui.input('Reference range' if number == 0 else '', value=v.range).props('outlined dense')]
                    row[0].mark(f'value-name-{number}')
                    row[1].mark(f'value-{number}')
                    cells.append(row)
            file_list = ui.column().classes('gap-0')

            def show_files(items: list[orders.FileView]) -> None:
                file_list.clear()
                with file_list:
                    for f in items:
                        ui.link(f'📎 {f.filename} ({f.size_bytes // 1024 + 1} KB)', f'/lab/files/{f.id}',
                                new_tab=True).classes('text-sm')

            show_files(view.files)
            error = error_text()

            async def uploaded(event) -> None:
                data = await event.file.read()
                row = await staff_action(lambda s: files.upload(
                    s, actor, view.id, filename=event.file.name, data=data,
                    max_bytes=settings.upload_max_mb * 1_048_576, data_dir=settings.data_dir, now=utcnow()),
                    error_label=error, success='File attached.')
                upload.reset()
                if row is not None:
                    async with get_db().read() as session:
                        show_files((await orders.order(session, actor, view.id)).files)

            upload = ui.upload(label=f'Attach image or PDF (max {settings.upload_max_mb} MB)', auto_upload=True,
                               on_upload=uploaded, max_file_size=settings.upload_max_mb * 1_048_576) \
                .props('accept=".png,.jpg,.jpeg,.pdf,image/png,image/jpeg,application/pdf" flat bordered') \
                .classes('w-full').mark('upload')
            upload.on_rejected(lambda: error.set_text(f'The file is larger than {settings.upload_max_mb} MB.'))

            async def save(complete: bool) -> None:
                entered = [ResultValue(*(cell.value or '' for cell in row)) for row in cells]
                done = await staff_action(lambda s: orders.record_result(
                    s, actor, view.id, text=result.value or '', values=entered, complete=complete, now=utcnow()),
                    error_label=error, success='Result completed: the doctor sees it now.' if complete
                    else 'Result saved.')
                if done is not None and complete:
                    dialog.close()

            async def back_to_doctor() -> None:
                async with get_db().read() as session:
                    ticket = await consultation.current_ticket(session, view.visit_id)
                    doctor_queue = await orders.doctor_queue_id(session, view.visit_id)
                if ticket is None or doctor_queue is None:
                    ui.notify('This patient has no ticket in a station queue: please send them back in person.',
                              type='info')
                    return
                done = await staff_action(lambda s: queue.transfer(s, actor, ticket.id, doctor_queue, tz=tz,
                                                                   now=utcnow()))
                if done is not None:
                    ui.notify(f'Sent back to the doctor: ticket {done.label}.', type='positive')
                    dialog.close()

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Back to the doctor', icon='undo', on_click=back_to_doctor).props('flat no-caps') \
                    .mark('back-to-doctor')
                ui.button('Close', on_click=dialog.close).props('flat no-caps')
                if editable:
                    ui.button('Save', on_click=lambda: save(False)).props('outline no-caps').mark('save-result')
                    ui.button('Complete' if view.status != OrderStatus.COMPLETED else 'Save correction',
                              icon='check', on_click=lambda: save(True)).props('unelevated no-caps') \
                        .mark('complete-result')
        dialog.open()

    on_row(table, 'open', lambda row: open_order(row['id']))
    subscribe(OrdersChanged, refresh)
    await refresh()


@staff_file(SERVICES, '/lab/files/{file_id}')
async def lab_result_file(actor: Actor, file_id: int):
    return await downloads.result_file(actor, file_id)

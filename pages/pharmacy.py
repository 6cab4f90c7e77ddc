"""Pharmacy: the live queue of prescriptions to dispense, the dispense dialog (first expiry first, partial,
substitution with a note), usage-instruction labels, and the stock alerts."""
from __future__ import annotations

from fastapi.responses import PlainTextResponse, Response
from nicegui import ui

from clinic_ui import downloads
from clinic_ui.live import subscribe
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.stations import PHARMACY
from clinic_ui.widgets import data_table, error_text, on_row, section_title, staff_action
from models import PrescriptionStatus
from models.types import utcnow
from services import clinic_settings, clinical_pdf, inventory, pharmacy, prescriptions
from services.access import Actor
from services.core.clock import local_today
from services.core.db import get_db
from services.core.errors import DomainError
from services.core.events import PrescriptionChanged, StockChanged
from services.pharmacy import DispenseLine

QUEUE_COLUMNS = [
    {'name': 'issued', 'label': 'Issued', 'field': 'issued'},
    {'name': 'patient', 'label': 'Patient', 'field': 'patient'},
    {'name': 'doctor', 'label': 'Doctor', 'field': 'doctor'},
    {'name': 'items', 'label': 'Medicines', 'field': 'items', 'align': 'right'},
    {'name': 'status', 'label': 'Status', 'field': 'status'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
QUEUE_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" label="Dispense" class="q-px-sm"
         @click="$parent.$emit('dispense', props.row.id)" />
</q-td>
'''


def queue_rows(rows: list[prescriptions.QueueRow]) -> list[dict]:
    tz = clinic_settings.current().tz
    return [{'id': r.prescription_id, 'issued': r.issued_at.astimezone(tz).strftime('%d/%m %H:%M'),
             'patient': f'{r.patient_name} · {r.patient_code}' + (' ⚠ allergies' if r.allergies else ''),
             'doctor': r.doctor_name, 'items': r.items,
             'status': 'partly dispensed: rest owed' if r.status == PrescriptionStatus.PARTIALLY_DISPENSED
             else 'to dispense'} for r in rows]


def low_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': m.medicine_id, 'code': m.code, 'name': m.name, 'on_hand': f'{m.on_hand} {m.unit}',
             'reorder': m.reorder_level} for m in alerts.low_stock]


def expiring_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': b.batch_id, 'name': b.medicine_name, 'batch': b.batch_no,
             'expiry': b.expiry_date.strftime('%d/%m/%Y') + (' (expired)' if b.expired else ''),
             'quantity': b.quantity} for b in alerts.expiring]


@staff_page(PHARMACY, reconnect_timeout=30)
async def pharmacy_page(actor: Actor):
    settings = clinic_settings.current()
    tz = settings.tz
    days = settings.expiry_warning_days

    async def load_queue() -> list[prescriptions.QueueRow]:
        async with get_db().read() as session:
            return await prescriptions.pharmacy_queue(session, actor)

    async def load_alerts() -> inventory.StockAlerts:
        async with get_db().read() as session:
            return await inventory.stock_alerts(session, actor, local_today(tz), expiring_within_days=days)

    with ui.row().classes('w-full items-center justify-between'):
        queue_title = section_title('Prescriptions to dispense')
        ui.button('Inventory', icon='inventory_2', on_click=lambda: ui.navigate.to('/pharmacy/inventory')) \
            .props('outline no-caps').mark('open-inventory')
    with ui.row().classes('w-full items-center gap-3 bg-teal-50 rounded p-2') as last_box:
        last_text = ui.label('').classes('font-medium')
        last_labels = ui.link('Print labels (PDF)', '#', new_tab=True).mark('print-labels')
        last_rx = ui.link('Prescription (PDF)', '#', new_tab=True)
    last_box.set_visibility(False)

    def show_last(dispense_id: int, plan: pharmacy.DispensePlan) -> None:
        last_text.set_text(f'Dispensed RX-{plan.prescription_id:06d} to {plan.patient_name}.')
        last_labels.props(f'href=/pharmacy/labels/{dispense_id}.pdf')
        last_rx.props(f'href=/pharmacy/prescriptions/{plan.prescription_id}.pdf')
        last_box.set_visibility(True)

    table = data_table(QUEUE_COLUMNS, [], empty='No prescription is waiting.', mark='rx-queue', search=False)
    table.add_slot('body-cell-actions', QUEUE_SLOT)

    alerts = await load_alerts()
    with ui.grid().classes('w-full gap-6 grid-cols-1 xl:grid-cols-2 mt-2'):
        with ui.column().classes('gap-2 min-w-0'):
            low_title = section_title('Below reorder level', len(alerts.low_stock))
            low = data_table([{'name': 'code', 'label': 'Code', 'field': 'code'},
                              {'name': 'name', 'label': 'Medicine', 'field': 'name'},
                              {'name': 'on_hand', 'label': 'Usable stock', 'field': 'on_hand'},
                              {'name': 'reorder', 'label': 'Reorder at', 'field': 'reorder'}],
                             low_rows(alerts), empty='All medicines above their reorder level.', mark='low-stock',
                             rows_per_page=10)
        with ui.column().classes('gap-2 min-w-0'):
            exp_title = section_title(f'Expired or expiring within {days} days', len(alerts.expiring))
            expiring = data_table([{'name': 'name', 'label': 'Medicine', 'field': 'name'},
                                   {'name': 'batch', 'label': 'Batch', 'field': 'batch'},
                                   {'name': 'expiry', 'label': 'Expiry', 'field': 'expiry'},
                                   {'name': 'quantity', 'label': 'Quantity', 'field': 'quantity'}],
                                  expiring_rows(alerts), empty='No batch expires soon.', mark='expiring',
                                  rows_per_page=10)

    async def refresh_queue() -> None:
        rows = await load_queue()
        table.rows = queue_rows(rows)
        queue_title.set_text(f'Prescriptions to dispense ({len(rows)})')

    async def refresh(event: dict | None = None) -> None:
        await refresh_queue()
        if event is None or 'medicine_ids' in event:
            fresh = await load_alerts()
            low.rows = low_rows(fresh)
            expiring.rows = expiring_rows(fresh)
            low_title.set_text(f'Below reorder level ({len(fresh.low_stock)})')
            exp_title.set_text(f'Expired or expiring within {days} days ({len(fresh.expiring)})')

    async def open_dispense(prescription_id: int) -> None:
        try:
            async with get_db().read() as session:
                plan = await pharmacy.plan(session, actor, prescription_id, today=local_today(tz))
        except DomainError as error:
            ui.notify(str(error), type='negative')
            return
        dispense_dialog(plan)

    def dispense_dialog(plan: pharmacy.DispensePlan) -> None:
        lines: list[dict] = []
        with ui.dialog() as dialog, ui.card().classes('w-full max-w-4xl gap-3').mark('dispense-dialog'):
            ui.label(f'RX-{plan.prescription_id:06d} · {plan.patient_name} · {plan.patient_code}') \
                .classes('text-xl font-semibold')
            ui.label(f'Prescribed by {plan.doctor_name}'
                     + (f' at {plan.issued_at.astimezone(tz):%d/%m %H:%M}' if plan.issued_at else '')) \
                .classes('text-slate-600')
            if plan.allergies:
                ui.label(f'⚠ Allergies: {plan.allergies}').classes('text-negative font-medium')
            for line in plan.lines:
                item = line.item
                with ui.column().classes('w-full gap-1 border rounded p-3').mark('dispense-line'):
                    with ui.row().classes('w-full items-start gap-3'):
                        with ui.column().classes('gap-0 grow min-w-0'):
                            ui.label(f'{item.medicine_name}').classes('font-medium')
                            ui.label(f'{item.dosage}' + (f' · {item.instructions}' if item.instructions else ''))\
                                .classes('text-sm text-slate-600')
                            ui.label(f'Prescribed {item.quantity} {item.unit} · given {item.dispensed_quantity} · '
                                     f'in stock {item.on_hand}').classes('text-sm')
                            batches = ', '.join(f'{b.batch_no} (exp. {b.expiry_date:%d/%m/%Y}: {b.quantity})'
                                                for b in line.batches[:3])
                            ui.label(f'Batches, first expiry first: {batches}' if batches else
                                     'No batch in date.').classes('text-xs text-slate-500')
                            for warning in item.warnings:
                                ui.label(f'⚠ {warning}').classes('text-sm text-negative')
                        quantity = ui.number(f'Give ({item.unit})', value=min(line.remaining, item.on_hand),
                                             min=0, max=line.remaining, step=1, format='%d') \
                            .props('outlined dense').classes('w-36').mark('give-quantity')
                    with ui.expansion('Substitute…').classes('w-full text-sm').props('dense'):
                        with ui.row().classes('w-full gap-2 items-start'):
                            search = ui.input('Find the substitute').props('outlined dense clearable') \
                                .classes('grow').mark('substitute-search')
                            note = ui.input('Why (required)').props('outlined dense').classes('grow') \
                                .mark('substitute-note')
                        hits = ui.column().classes('w-full gap-0')
                        chosen = ui.label('').classes('text-primary text-sm')
                entry = {'item_id': item.id, 'quantity': quantity, 'medicine_id': None, 'note': note}
                lines.append(entry)

                async def find(_=None, search=search, hits=hits, chosen=chosen, entry=entry, unit=item.unit) -> None:
                    found = []
                    if len((search.value or '').strip()) >= 2:
                        async with get_db().read() as session:
                            found = await prescriptions.search_medicines(session, actor, search.value,
                                                                         today=local_today(tz), limit=6)
                    hits.clear()
                    with hits:
                        for hit in found:
                            if hit.unit != unit:
                                continue

                            def choose(hit=hit) -> None:
                                entry['medicine_id'] = hit.id
                                chosen.set_text(f'Substitute: {hit.name} ({hit.on_hand} in stock)')
                                hits.clear()
                            ui.item(hit.label, on_click=choose).props('clickable dense').classes('w-full')

                search.on_value_change(find)
            notes = ui.input('Note (optional)').props('outlined dense').classes('w-full')
            error = error_text()

            async def confirm() -> None:
                if dispense_button.props.get('loading'):
                    return  # a double click dispenses once
                dispense_button.props('loading')
                try:
                    await dispense_now()
                finally:
                    dispense_button.props(remove='loading')

            async def dispense_now() -> None:
                chosen_lines = [DispenseLine(e['item_id'], int(e['quantity'].value or 0), e['medicine_id'],
                                             e['note'].value or '') for e in lines]
                done = await staff_action(lambda s: pharmacy.dispense(s, actor, plan.prescription_id, chosen_lines,
                                                                      notes=notes.value or '',
                                                                      today=local_today(tz), now=utcnow()),
                                          error_label=error, success='Dispensed: stock updated.')
                if done is not None:
                    dialog.close()
                    show_last(done.id, plan)

            with ui.row().classes('w-full justify-end gap-2'):
                ui.button('Cancel', on_click=dialog.close).props('flat no-caps')
                dispense_button = ui.button('Dispense', icon='medication', on_click=confirm) \
                    .props('unelevated no-caps').mark('confirm-dispense')
        dialog.open()

    on_row(table, 'dispense', lambda row: open_dispense(row['id']))
    subscribe(PrescriptionChanged, refresh)
    subscribe(StockChanged, refresh)
    await refresh_queue()


@staff_file(PHARMACY, '/pharmacy/labels/{dispense_id}.pdf')
async def labels_pdf(actor: Actor, dispense_id: int):
    settings = clinic_settings.current()
    try:
        async with get_db().read() as session:
            labels = await pharmacy.labels(session, actor, dispense_id)
    except DomainError as error:
        return PlainTextResponse(str(error), status_code=404)
    pdf = await clinical_pdf.render_labels(labels, clinic_name=settings.clinic_name, tz=settings.tz)
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="labels-{dispense_id}.pdf"'})


@staff_file(PHARMACY, '/pharmacy/prescriptions/{prescription_id}.pdf')
async def pharmacy_prescription_pdf(actor: Actor, prescription_id: int):
    return await downloads.prescription_pdf(actor, prescription_id)

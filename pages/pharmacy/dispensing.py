"""The pharmacy's page: prescriptions to dispense (live), the last dispense with its labels, and the stock alerts."""
from __future__ import annotations

from fastapi.responses import PlainTextResponse, Response
from nicegui import ui
from sqlmodel.ext.asyncio.session import AsyncSession

from clinic_ui import downloads, transaction
from clinic_ui.live import subscribe
from clinic_ui.panels import LivePanel
from clinic_ui.routes import staff_file, staff_page
from clinic_ui.service_point import service_point
from clinic_ui.stations import PHARMACY
from clinic_ui.widgets import data_table, on_row, section_title, staff_read, translated_columns
from models import AllergyStatus, PrescriptionStatus, QueueKind
from services import clinic_settings, clinical_pdf, documents, inventory, pharmacy, prescriptions
from services.access import Actor
from services.core.clock import local_today
from services.core.errors import DomainError
from services.core.events import PrescriptionChanged, StockChanged
from services.core.i18n import N_, _, ngettext

from .dialogs import DispenseDialog

QUEUE_COLUMNS = [
    {'name': 'issued', 'label': N_('Issued'), 'field': 'issued'},
    {'name': 'patient', 'label': N_('Patient'), 'field': 'patient'},
    {'name': 'doctor', 'label': N_('Doctor'), 'field': 'doctor'},
    {'name': 'items', 'label': N_('Medicines'), 'field': 'items', 'align': 'right'},
    {'name': 'status', 'label': N_('Status'), 'field': 'status'},
    {'name': 'actions', 'label': '', 'field': 'id', 'sortable': False},
]
QUEUE_SLOT = r'''
<q-td :props="props" class="whitespace-nowrap">
  <q-btn unelevated dense no-caps color="primary" :label="props.row.action" class="q-px-sm"
         @click="$parent.$emit('dispense', props.row.id)" />
</q-td>
'''
LOW_COLUMNS = [
    {'name': 'code', 'label': N_('Code'), 'field': 'code'},
    {'name': 'name', 'label': N_('Medicine'), 'field': 'name'},
    {'name': 'on_hand', 'label': N_('Usable stock'), 'field': 'on_hand'},
    {'name': 'reorder', 'label': N_('Reorder at'), 'field': 'reorder'},
]
EXPIRING_COLUMNS = [
    {'name': 'name', 'label': N_('Medicine'), 'field': 'name'},
    {'name': 'batch', 'label': N_('Batch'), 'field': 'batch'},
    {'name': 'expiry', 'label': N_('Expiry'), 'field': 'expiry'},
    {'name': 'quantity', 'label': N_('Quantity'), 'field': 'quantity'},
]


def patient_text(r: prescriptions.QueueRow) -> str:
    """The patient, with a warning when allergies are recorded and the allergy overrides still to check."""
    text = f'{r.patient_name} · {r.patient_code}'
    if r.allergy_status == AllergyStatus.RECORDED:
        text += ' ⚠ ' + _('allergies')
    if r.overrides:
        text += ' · ' + ngettext('{count} allergy override to check', '{count} allergy overrides to check',
                                 r.overrides)
    return text


def queue_rows(rows: list[prescriptions.QueueRow]) -> list[dict]:
    tz = clinic_settings.current().tz
    return [{'id': r.prescription_id, 'issued': r.issued_at.astimezone(tz).strftime('%d/%m %H:%M'),
             'patient': patient_text(r), 'doctor': r.doctor_name, 'items': r.items,
             'status': _('partly dispensed: rest owed') if r.status == PrescriptionStatus.PARTIALLY_DISPENSED
             else _('to dispense'), 'action': _('Dispense')} for r in rows]


def low_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': m.medicine_id, 'code': m.code, 'name': m.name, 'on_hand': f'{m.on_hand} {m.unit}',
             'reorder': m.reorder_level} for m in alerts.low_stock]


def expiring_rows(alerts: inventory.StockAlerts) -> list[dict]:
    return [{'id': b.batch_id, 'name': b.medicine_name, 'batch': b.batch_no,
             'expiry': _('{day} (expired)').format(day=b.expiry_date.strftime('%d/%m/%Y')) if b.expired
             else b.expiry_date.strftime('%d/%m/%Y'),
             'quantity': b.quantity} for b in alerts.expiring]


class LastDispense:
    """What this pharmacist dispensed last, with its labels and prescription to print."""

    def __init__(self) -> None:
        with ui.row().classes('w-full items-center gap-3 bg-teal-50 rounded p-2') as self.box:
            self.text = ui.label('').classes('font-medium')
            self.labels = ui.link(_('Print labels (PDF)'), '#', new_tab=True).mark('print-labels')
            self.prescription = ui.link(_('Prescription (PDF)'), '#', new_tab=True)
        self.box.set_visibility(False)

    def show(self, dispense_id: int, plan: pharmacy.DispensePlan) -> None:
        self.text.set_text(_('Dispensed {prescription} to {patient}.')
                           .format(prescription=f'RX-{plan.prescription_id:06d}', patient=plan.patient_name))
        self.labels.props(f'href=/pharmacy/labels/{dispense_id}.pdf')
        self.prescription.props(f'href=/pharmacy/prescriptions/{plan.prescription_id}.pdf')
        self.box.set_visibility(True)


class PrescriptionQueue(LivePanel[list[prescriptions.QueueRow]]):
    """Prescriptions waiting to be dispensed, oldest first; "Dispense" opens one."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        with ui.row().classes('w-full items-center justify-between'):
            self.title = section_title(_('Prescriptions to dispense'))
            ui.button(_('Inventory'), icon='inventory_2', on_click=lambda: ui.navigate.to('/pharmacy/inventory')) \
                .props('outline no-caps').mark('open-inventory')
        self.last = LastDispense()
        self.table = data_table(translated_columns(QUEUE_COLUMNS), [], empty=_('No prescription is waiting.'), mark='rx-queue',
                                search=False)
        self.table.add_slot('body-cell-actions', QUEUE_SLOT)
        on_row(self.table, 'dispense', self.open)

    async def read(self, session: AsyncSession) -> list[prescriptions.QueueRow]:
        return await prescriptions.pharmacy_queue(session, self.actor)

    def show(self, rows: list[prescriptions.QueueRow]) -> None:
        self.table.rows = queue_rows(rows)
        self.title.set_text(_('Prescriptions to dispense ({count})').format(count=len(rows)))

    async def open(self, row: dict) -> None:
        """The dispense dialog of the prescription, with its batches first expiry first."""
        today = local_today(clinic_settings.current().tz)
        plan = await staff_read(lambda s: pharmacy.plan(s, self.actor, row['id'], today=today))
        if plan is not None:
            DispenseDialog(self.actor, plan, on_dispensed=self.last.show).open()


class StockAlerts(LivePanel[inventory.StockAlerts]):
    """Medicines below their reorder level, and batches expired or expiring soon."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.days = clinic_settings.current().expiry_warning_days
        with ui.grid().classes('w-full gap-6 grid-cols-1 xl:grid-cols-2 mt-2'):
            with ui.column().classes('gap-2 min-w-0'):
                self.low_title = section_title(_('Below reorder level'))
                self.low = data_table(translated_columns(LOW_COLUMNS), [], empty=_('All medicines above their reorder level.'),
                                      mark='low-stock', rows_per_page=10)
            with ui.column().classes('gap-2 min-w-0'):
                self.expiring_title = section_title(
                    ngettext('Expired or expiring within {count} day', 'Expired or expiring within {count} days',
                             self.days))
                self.expiring = data_table(translated_columns(EXPIRING_COLUMNS), [], empty=_('No batch expires soon.'),
                                           mark='expiring', rows_per_page=10)

    async def read(self, session: AsyncSession) -> inventory.StockAlerts:
        today = local_today(clinic_settings.current().tz)
        return await inventory.stock_alerts(session, self.actor, today, expiring_within_days=self.days)

    def show(self, alerts: inventory.StockAlerts) -> None:
        self.low.rows = low_rows(alerts)
        self.expiring.rows = expiring_rows(alerts)
        self.low_title.set_text(_('Below reorder level ({count})').format(count=len(alerts.low_stock)))
        self.expiring_title.set_text(
            ngettext('Expired or expiring within {count} day ({found})',
                     'Expired or expiring within {count} days ({found})', self.days, found=len(alerts.expiring)))


@staff_page(PHARMACY, reconnect_timeout=30)
async def pharmacy_page(actor: Actor):
    await service_point(actor, {QueueKind.PHARMACY}, _('Pharmacy window'))

    queue = PrescriptionQueue(actor)
    alerts = StockAlerts(actor)
    subscribe(PrescriptionChanged, queue.refresh)
    subscribe(StockChanged, queue.refresh)
    subscribe(StockChanged, alerts.refresh)
    await alerts.load()
    await queue.load()


@staff_file(PHARMACY, '/pharmacy/labels/{dispense_id}.pdf')
async def labels_pdf(actor: Actor, dispense_id: int):
    settings = clinic_settings.current()
    try:
        labels = await transaction.read(lambda s: pharmacy.labels(s, actor, dispense_id))
    except DomainError as error:
        return PlainTextResponse(str(error), status_code=404)
    language = await transaction.read(lambda s: documents.dispense_language(s, dispense_id,
                                                                           clinic=settings.language))
    pdf = await clinical_pdf.render_labels(labels, clinic_name=settings.clinic_name, tz=settings.tz,
                                           language=language)  # the patient's language, not the pharmacist's
    return Response(pdf, media_type='application/pdf',
                    headers={'Content-Disposition': f'inline; filename="labels-{dispense_id}.pdf"'})


@staff_file(PHARMACY, '/pharmacy/prescriptions/{prescription_id}.pdf')
async def pharmacy_prescription_pdf(actor: Actor, prescription_id: int):
    return await downloads.prescription_pdf(actor, prescription_id)

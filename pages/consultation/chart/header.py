"""Who the patient is (allergies first), where the visit stands, and their history at a glance."""
from __future__ import annotations

from datetime import date

from nicegui import ui

from clinic_ui.allergies import AllergyChip, AllergyDialog
from clinic_ui.lab_flags import FLAG_CLASSES, value_text
from clinic_ui.widgets import data_table, section_title, translated_columns
from services import consultation, phones
from services.core.clock import local_today
from services.core.events import OrdersChanged, VisitChanged
from services.core.i18n import N_, _, ngettext

from .visit import OpenVisit

HISTORY_COLUMNS = [
    {'name': 'date', 'label': N_('Date'), 'field': 'date', 'sortable': False, 'style': 'width: 7rem'},
    {'name': 'visit', 'label': N_('Diagnosis, services, medicines'), 'field': 'search', 'sortable': False},
]
HISTORY_DATE_SLOT = r'''
<q-td :props="props" class="align-top">
  <div class="font-medium">{{ props.row.date }}</div>
  <div class="text-xs text-slate-500" style="white-space: normal">{{ props.row.doctor }}</div>
  <div class="text-xs text-slate-600 q-mt-xs" style="white-space: normal">{{ props.row.payment }}</div>
</q-td>
'''
HISTORY_VISIT_SLOT = r'''
<q-td :props="props" style="white-space: normal" class="align-top">
  <div class="font-medium">{{ props.row.diagnosis }}</div>
  <div v-if="props.row.vitals" class="text-xs text-slate-500">{{ props.row.vitals }}</div>
  <div v-for="line in props.row.lines" class="text-sm">{{ line }}</div>
  <div v-for="result in props.row.results" class="text-sm">⚑ {{ result.service }}:
    <span v-for="(value, i) in result.values" :class="value.classes">{{ i ? ', ' : '' }}{{ value.text }}</span>
  </div>
  <div v-if="props.row.advice" class="text-xs text-slate-600">{{ props.row.advice }}</div>
</q-td>
'''


SEXES = {'female': N_('female'), 'male': N_('male'), 'other': N_('other')}  # 'unknown': not shown


def facts_text(patient: consultation.PatientSummary, today: date) -> str:
    age = patient.age_on(today)
    facts = [patient.code, ngettext('{count} year', '{count} years', age) if age is not None else '',
             _(SEXES[patient.sex]) if patient.sex in SEXES else '',
             _('born {date}').format(date=f'{patient.date_of_birth:%d/%m/%Y}') if patient.date_of_birth else '',
             phones.shown(patient.phone)]
    return ' · '.join(f for f in facts if f)


def history_rows(chart: consultation.Chart) -> list[dict]:
    """One row per past visit; ``search`` (lower case, no accents) is what the filter box searches."""
    return [{'id': h.visit_id, 'date': f'{h.visit_date:%d/%m/%Y}', 'doctor': h.doctor_name, 'payment': h.payment,
             'diagnosis': ' '.join(p for p in (h.diagnosis_code, h.diagnosis) if p) or h.reason or '—',
             'vitals': h.vitals, 'advice': _('Advice: {advice}').format(advice=h.advice) if h.advice else '',
             'lines': [*(f'• {s}' for s in h.services), *(f'℞ {m}' for m in h.medicines)],
             'results': [{'service': service, 'values': [{'text': value_text(v), 'classes': FLAG_CLASSES[v.flag]}
                                                         for v in values]} for service, values in h.results],
             'search': h.search_text} for h in chart.history]


class PatientHeader:
    """The patient's name and facts, their allergies, the visit's status; ``actions`` holds the main buttons."""
    follows = (OrdersChanged, VisitChanged)

    def __init__(self, visit: OpenVisit) -> None:
        self.visit = visit
        patient = visit.chart.patient
        with ui.row().classes('w-full items-start justify-between gap-3'):
            with ui.column().classes('gap-1 min-w-0'):
                ui.link(_('← My queue'), '/consultation').classes('text-sm')
                ui.label(patient.full_name).classes('text-2xl font-semibold leading-tight').mark('chart-patient')
                ui.label(facts_text(patient, local_today(visit.tz))).classes('text-slate-600')
                with ui.row().classes('items-center gap-2'):
                    self.allergies = AllergyChip(patient.allergy)
                    ui.button(_('Allergies…'), icon='edit_note', on_click=self.edit_allergies) \
                        .props('flat dense no-caps').mark('edit-allergies')
                    self.status = ui.chip('', color='teal-1', text_color='primary').props('square') \
                        .mark('visit-status')
            self.actions = ui.row().classes('gap-2 items-center')
        if not visit.chart.can_edit:
            ui.label(_("You are viewing the chart of another doctor's patient: read only "
                       '(this opening is logged).')) \
                .classes('text-amber-800')
        visit.watch(self)

    def edit_allergies(self) -> None:
        """The allergy list of the patient; each change shows at once on the chart (and its prescription)."""
        AllergyDialog(self.visit.actor, self.visit.chart.patient.allergy,
                      on_changed=lambda _allergies: self.visit.refresh()).open()

    def show(self, chart: consultation.Chart) -> None:
        self.allergies.show(chart.patient.allergy)
        status = _('Visit {date} · {status}').format(date=f'{chart.visit.visit_date:%d/%m/%Y}',
                                                    status=consultation.status_text(chart.visit.status))
        self.status.set_text(status + (f' · {chart.doctor_name}' if chart.doctor_name else ''))


class HistoryPanel:
    """Every earlier visit, newest first, searchable."""
    follows = ()

    def __init__(self, visit: OpenVisit) -> None:
        history = visit.chart.history
        section_title(_('History'), len(history)).mark('history-title')
        if history:
            last = history[0]
            ui.label(_('Last visit {date}: {diagnosis}').format(
                date=f'{last.visit_date:%d/%m/%Y}', diagnosis=f'{last.diagnosis_code} {last.diagnosis}'.strip())) \
                .classes('text-slate-600 text-sm')
        columns = translated_columns(HISTORY_COLUMNS)
        self.table = data_table(columns, history_rows(visit.chart), empty=_('No earlier visits.'),
                                mark='history', rows_per_page=8)
        self.table.props('dense')
        self.table.add_slot('body-cell-date', HISTORY_DATE_SLOT)
        self.table.add_slot('body-cell-visit', HISTORY_VISIT_SLOT)
        visit.watch(self)

    def show(self, chart: consultation.Chart) -> None:
        self.table.rows = history_rows(chart)

"""Administration: the dashboard for a chosen period (visits, revenue, waiting and consultation times,
workload per doctor, no-shows), drawn with ECharts."""
from __future__ import annotations

from datetime import date, timedelta

from babel.numbers import format_percent
from nicegui import ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import amount_text, back_link, error_text, staff_read
from services import clinic_settings, dashboard
from services.access import Actor
from services.core import i18n
from services.core.clock import local_today
from services.core.i18n import N_, _, ngettext

METHOD_LABELS = {'cash': N_('Cash'), 'card': N_('Card'), 'bank_transfer': N_('Bank transfer'),
                 'e_wallet': N_('E-wallet'), 'insurance': N_('Insurance')}
CHART_CLASSES = 'w-full h-72'


def _bar(title: str, labels: list[str], values: list, *, color: str = '#0f766e', unit: str = '') -> dict:
    return {'title': {'text': title, 'textStyle': {'fontSize': 14}},
            'tooltip': {'trigger': 'axis'}, 'grid': {'left': 60, 'right': 16, 'top': 40, 'bottom': 30},
            'xAxis': {'type': 'category', 'data': labels},
            'yAxis': {'type': 'value', 'name': unit, 'minInterval': 1},
            'series': [{'type': 'bar', 'data': values, 'itemStyle': {'color': color}}]}


def _lines(title: str, labels: list[str], series: dict[str, list], unit: str) -> dict:
    return {'title': {'text': title, 'textStyle': {'fontSize': 14}}, 'tooltip': {'trigger': 'axis'},
            'legend': {'bottom': 0}, 'grid': {'left': 60, 'right': 16, 'top': 40, 'bottom': 50},
            'xAxis': {'type': 'category', 'data': labels}, 'yAxis': {'type': 'value', 'name': unit},
            'series': [{'type': 'line', 'name': name, 'data': values, 'connectNulls': True, 'smooth': True}
                       for name, values in series.items()]}


def _pie(title: str, data: dict[str, float]) -> dict:
    return {'title': {'text': title, 'textStyle': {'fontSize': 14}}, 'tooltip': {'trigger': 'item'},
            'legend': {'bottom': 0},
            'series': [{'type': 'pie', 'radius': ['40%', '70%'], 'center': ['50%', '48%'],
                        'data': [{'name': k, 'value': v} for k, v in data.items()]}]}


class Period:
    """The days the dashboard sums: two date fields and quick choices (the last 7, 30 or 90 days)."""

    def __init__(self, today: date) -> None:
        self.today = today
        with ui.row().classes('w-full items-end gap-2'):
            self.first_day = ui.input(_('From'), value=(today - timedelta(days=29)).isoformat()) \
                .props('outlined dense type=date stack-label').classes('w-40').mark('dashboard-from')
            self.last_day = ui.input(_('To'), value=today.isoformat()).props('outlined dense type=date stack-label') \
                .classes('w-40').mark('dashboard-to')
            for days in (7, 30, 90):
                ui.button(ngettext('Last day', 'Last {count} days', days),
                          on_click=lambda d=days: self.choose_last(d)).props('flat no-caps dense')

    def days(self) -> tuple[date, date] | None:
        try:
            return date.fromisoformat(self.first_day.value or ''), date.fromisoformat(self.last_day.value or '')
        except ValueError:
            return None

    def on_change(self, handler) -> None:
        self.first_day.on_value_change(handler)
        self.last_day.on_value_change(handler)

    def choose_last(self, days: int) -> None:
        self.first_day.set_value((self.today - timedelta(days=days - 1)).isoformat())
        self.last_day.set_value(self.today.isoformat())


class Figures:
    """The period's key figures, one card each."""

    def __init__(self, currency: str) -> None:
        self.labels: dict[str, ui.label] = {}
        with ui.row().classes('w-full gap-3 items-stretch'):  # the cards as high as the no-show one
            for key, label in (('visits', _('Visits')),
                               ('revenue', _('Revenue ({currency})').format(currency=currency)),
                               ('wait', _('Average wait')), ('consult', _('Average consultation')),
                               ('no_show', _('No-show rate'))):
                with ui.card().classes('px-4 py-3 min-w-[11rem]').mark(f'kpi-{key}'):
                    self.labels[key] = ui.label('—').classes('text-2xl font-semibold text-primary')
                    ui.label(label).classes('text-sm text-slate-600')
                    if key == 'no_show':
                        self.no_show_detail = ui.label('').classes('text-xs text-slate-500')

    def show(self, data: dashboard.Dashboard) -> None:
        self.labels['visits'].set_text(i18n.number(data.total_visits))
        self.labels['revenue'].set_text(amount_text(data.total_revenue))
        self.labels['wait'].set_text(_minutes(data.avg_wait))
        self.labels['consult'].set_text(_minutes(data.avg_consultation))
        rate = data.no_show_rate
        self.labels['no_show'].set_text(format_percent(rate, '#,##0.0%', locale=i18n.locale())
                                        if rate is not None else '—')
        if data.tickets_closed or data.visits_closed:
            detail = _('{no_shows} of {due} booked appointments; {tickets} tickets and {visits} visits were still '
                       'open at the end of the day').format(no_shows=data.no_shows, due=data.appointments_due,
                                                            tickets=data.tickets_closed, visits=data.visits_closed)
        else:
            detail = _('{no_shows} of {due} booked appointments').format(no_shows=data.no_shows,
                                                                         due=data.appointments_due)
        self.no_show_detail.set_text(detail)


def _minutes(value: float | None) -> str:
    return _('{minutes} min').format(minutes=f'{value:.0f}') if value is not None else '—'


class Charts:
    """Visits and revenue per day, revenue by payment method, average times per day, visits per doctor."""

    def __init__(self, currency: str, exponent: int) -> None:
        self.currency = currency
        self.exponent = exponent
        with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
            self.visits = self._chart(_bar(_('Visits per day'), [], []), 'chart-visits')
            self.revenue = self._chart(_bar(_('Revenue per day'), [], [], color='#2563eb'), 'chart-revenue')
            self.methods = self._chart(_pie(_('Revenue by payment method'), {}), 'chart-methods')
            self.times = self._chart(_lines(_('Average times per day'), [], {}, _('min')), 'chart-times')
            self.doctors = self._chart(_bar(_('Visits per doctor'), [], []), 'chart-doctors', 'lg:col-span-2')

    @staticmethod
    def _chart(options: dict, mark: str, classes: str = '') -> ui.echart:
        with ui.card().classes(classes):
            return ui.echart(options).classes(CHART_CLASSES).mark(mark)

    def major(self, amount: int) -> float:
        return round(amount / 10 ** self.exponent, self.exponent)

    def show(self, data: dashboard.Dashboard) -> None:
        labels = [d.strftime('%d/%m') for d in data.days]
        self.visits.options.update(_bar(_('Visits per day'), labels, data.visits_per_day))
        self.revenue.options.update(_bar(_('Revenue per day'), labels, [self.major(v) for v in data.revenue_per_day],
                                         color='#2563eb', unit=self.currency))
        self.methods.options.update(_pie(_('Revenue by payment method'), {
            _(METHOD_LABELS[k]) if k in METHOD_LABELS else k: self.major(v)
            for k, v in data.revenue_by_method.items()}))
        self.times.options.update(_lines(_('Average times per day (minutes)'), labels, {
            _('Waiting (check-in to consultation)'): data.avg_wait_per_day,
            _('Consultation'): data.avg_consult_per_day}, _('min')))
        self.doctors.options.update(_bar(_('Visits per doctor'), [d.name for d in data.doctors],
                                         [d.visits for d in data.doctors], color='#7c3aed'))
        for chart in (self.visits, self.revenue, self.methods, self.times, self.doctors):
            chart.update()


class Dashboard:
    """The period, its figures and its charts, read again when the period changes."""

    def __init__(self, actor: Actor) -> None:
        settings = clinic_settings.current()
        self.actor = actor
        self.tz = settings.tz
        self.period = Period(local_today(settings.tz))
        self.error = error_text()
        self.figures = Figures(settings.currency)
        self.charts = Charts(settings.currency, settings.currency_exponent)
        self.period.on_change(self.load)

    async def load(self) -> None:
        days = self.period.days()
        if days is None:
            self.error.set_text(_('Please enter both days.'))
            return
        data = await staff_read(lambda s: dashboard.build(s, self.actor, start_day=days[0], end_day=days[1],
                                                          tz=self.tz), error_label=self.error)
        if data is not None:
            self.figures.show(data)
            self.charts.show(data)


@staff_page(ADMIN, '/admin/dashboard', title=N_('Dashboard'))
async def dashboard_page(actor: Actor):
    back_link()
    board = Dashboard(actor)
    ui.timer(0.05, board.load, once=True)  # the page shows at once; the figures follow

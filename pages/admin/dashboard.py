"""Administration: the dashboard for a chosen period (visits, revenue, waiting and consultation times,
workload per doctor, no-shows), drawn with ECharts."""
from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui

from clinic_ui.routes import staff_page
from clinic_ui.stations import ADMIN
from clinic_ui.widgets import back_link, error_text, money, staff_read
from services import clinic_settings, dashboard
from services.access import Actor
from services.core.clock import local_today

METHOD_LABELS = {'cash': 'Cash', 'card': 'Card', 'bank_transfer': 'Bank transfer', 'e_wallet': 'E-wallet',
                 'insurance': 'Insurance'}
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


@staff_page(ADMIN, '/admin/dashboard', title='Dashboard')
async def dashboard_page(actor: Actor):
    settings = clinic_settings.current()
    today = local_today(settings.tz)
    exponent = settings.currency_exponent
    back_link()
    with ui.row().classes('w-full items-end gap-2'):
        first_day = ui.input('From', value=(today - timedelta(days=29)).isoformat()) \
            .props('outlined dense type=date stack-label').classes('w-40').mark('dashboard-from')
        last_day = ui.input('To', value=today.isoformat()).props('outlined dense type=date stack-label') \
            .classes('w-40').mark('dashboard-to')
        for label, days in (('Last 7 days', 7), ('Last 30 days', 30), ('Last 90 days', 90)):
            ui.button(label, on_click=lambda d=days: quick(d)).props('flat no-caps dense')
    error = error_text()
    with ui.row().classes('w-full gap-3'):
        figures = {}
        for key, label in (('visits', 'Visits'), ('revenue', f'Revenue ({settings.currency})'),
                           ('wait', 'Average wait'), ('consult', 'Average consultation'),
                           ('no_show', 'No-show rate')):
            with ui.card().classes('px-4 py-3 min-w-[11rem]').mark(f'kpi-{key}'):
                figures[key] = ui.label('—').classes('text-2xl font-semibold text-primary')
                ui.label(label).classes('text-sm text-slate-600')
                if key == 'no_show':
                    figures['no_show_detail'] = ui.label('').classes('text-xs text-slate-500')
    with ui.element('div').classes('w-full grid gap-4 grid-cols-1 lg:grid-cols-2'):
        with ui.card():
            visits_chart = ui.echart(_bar('Visits per day', [], [])).classes(CHART_CLASSES).mark('chart-visits')
        with ui.card():
            revenue_chart = ui.echart(_bar('Revenue per day', [], [], color='#2563eb')).classes(CHART_CLASSES) \
                .mark('chart-revenue')
        with ui.card():
            method_chart = ui.echart(_pie('Revenue by payment method', {})).classes(CHART_CLASSES) \
                .mark('chart-methods')
        with ui.card():
            times_chart = ui.echart(_lines('Average times per day', [], {}, 'min')).classes(CHART_CLASSES) \
                .mark('chart-times')
        with ui.card().classes('lg:col-span-2'):
            doctors_chart = ui.echart(_bar('Visits per doctor', [], [])).classes(CHART_CLASSES) \
                .mark('chart-doctors')

    def major(amount: int) -> float:
        return round(amount / 10 ** exponent, exponent)

    async def load() -> None:
        try:
            start, end = date.fromisoformat(first_day.value or ''), date.fromisoformat(last_day.value or '')
        except ValueError:
            error.set_text('Please enter both days.')
            return
        data = await staff_read(lambda s: dashboard.build(s, actor, start_day=start, end_day=end, tz=settings.tz),
                                error_label=error)
        if data is None:
            return
        labels = [d.strftime('%d/%m') for d in data.days]
        figures['visits'].set_text(f'{data.total_visits:,}')
        figures['revenue'].set_text(money(data.total_revenue).rsplit(' ', 1)[0])
        figures['wait'].set_text(f'{data.avg_wait:.0f} min' if data.avg_wait is not None else '—')
        figures['consult'].set_text(f'{data.avg_consultation:.0f} min' if data.avg_consultation is not None else '—')
        rate = data.no_show_rate
        figures['no_show'].set_text(f'{rate:.1%}' if rate is not None else '—')
        figures['no_show_detail'].set_text(f'{data.no_shows} of {data.appointments_due} booked appointments')
        visits_chart.options.update(_bar('Visits per day', labels, data.visits_per_day))
        revenue_chart.options.update(_bar('Revenue per day', labels, [major(v) for v in data.revenue_per_day],
                                          color='#2563eb', unit=settings.currency))
        method_chart.options.update(_pie('Revenue by payment method', {
            METHOD_LABELS.get(k, k): major(v) for k, v in data.revenue_by_method.items()}))
        times_chart.options.update(_lines('Average times per day (minutes)', labels, {
            'Waiting (check-in to consultation)': data.avg_wait_per_day,
            'Consultation': data.avg_consult_per_day}, 'min'))
        doctors_chart.options.update(_bar('Visits per doctor', [d.name for d in data.doctors],
                                          [d.visits for d in data.doctors], color='#7c3aed'))
        for chart in (visits_chart, revenue_chart, method_chart, times_chart, doctors_chart):
            chart.update()

    async def quick(days: int) -> None:
        first_day.set_value((today - timedelta(days=days - 1)).isoformat())
        last_day.set_value(today.isoformat())

    first_day.on_value_change(load)
    last_day.on_value_change(load)
    ui.timer(0.05, load, once=True)  # the page shows at once; the figures follow

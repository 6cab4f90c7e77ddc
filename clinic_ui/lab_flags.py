"""How a lab value's flag looks on every screen: H / L / HH / LL / A beside the value, high in red, low in blue,
critical ones filled in (the same marks as on the printed result); and the critical-result alert of the ordering
doctor; an order's status as these screens write it."""
from __future__ import annotations

from nicegui import ui

from models import OrderStatus, ResultFlag
from services import lab_results
from services.access import Actor
from services.core.events import CriticalResult
from services.core.i18n import N_, _
from services.orders import ResultValue

from .live import subscribe
from .widgets import staff_read

FLAG_CLASSES = {
    ResultFlag.HIGH: 'text-red-700 font-semibold',
    ResultFlag.LOW: 'text-blue-700 font-semibold',
    ResultFlag.CRITICAL_HIGH: 'text-white bg-red-700 font-bold px-1 rounded',
    ResultFlag.CRITICAL_LOW: 'text-white bg-blue-700 font-bold px-1 rounded',
    ResultFlag.ABNORMAL: 'text-amber-800 font-semibold',
}
FLAG_LOOKS = ' '.join(sorted({name for classes in FLAG_CLASSES.values() for name in classes.split()}))
ORDER_STATES = {OrderStatus.PENDING: N_('pending'), OrderStatus.IN_PROGRESS: N_('started'),
                OrderStatus.COMPLETED: N_('completed'), OrderStatus.CANCELLED: N_('cancelled')}


def show_flag(label: ui.label, flag: ResultFlag) -> None:
    """Put ``flag``'s mark and colour on ``label`` (nothing when the value is normal or not judged)."""
    label.set_text(lab_results.flag_mark(flag))
    label.classes(remove=FLAG_LOOKS, add=FLAG_CLASSES.get(flag, ''))  # the label's own classes (its width) stay


def value_text(value: ResultValue) -> str:
    """"WBC: 11.8 10^9/L H (ref. 4.0–10.0)"."""
    text = f'{value.name}: {value.value} {value.unit}'.rstrip()
    if value.mark:
        text += f' {value.mark}'
    return _('{value} (ref. {range})').format(value=text, range=value.range) if value.range else text


def order_status_text(status: OrderStatus) -> str:
    """``started`` (in the reader's language; not "in progress", which is an appointment's state)."""
    return _(ORDER_STATES[status]) if status in ORDER_STATES else status.value


def value_line(value: ResultValue) -> ui.label:
    """One value of a result as a line, coloured by its flag."""
    return ui.label(value_text(value)).classes('text-sm ' + FLAG_CLASSES.get(value.flag, ''))


def alert_critical_results(actor: Actor) -> None:
    """On a doctor's screen: a critical result of one of their orders shows at once, and stays until closed
    ("Critical result for <patient>: K 6.9 mmol/L"). Call inside the page function."""

    async def alert(event: CriticalResult) -> None:
        found = await staff_read(lambda s: lab_results.critical_alert(s, actor, event.order_id), touch=False)
        if found is not None:
            ui.notification(found.message, type='negative', icon='warning', timeout=None, close_button=_('OK'),
                            position='top', multi_line=True)

    subscribe(CriticalResult, alert)

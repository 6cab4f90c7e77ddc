"""The board's cards as a full-HD TV lays them out (real Chromium, the board's own CSS and markup, no server): with
ten queues in two columns, long doctors' names and three-letter prefixes, every ticket number stays on one line
and whole, and every name is shown in full."""
from __future__ import annotations

import math
from urllib.parse import quote

from models import QueueKind, TicketStatus
from models.types import utcnow
from services import queue
from tests.browser.support import chromium

TV = (1920, 1080)
NAMES = ['Dr. Nguyễn Thị Mỹ Dung', 'Dr. Huỳnh Thị Phương Thảo', 'Laboratory', 'Dr. Trần Văn Minh',
         'Dr. Đặng Ngọc Ánh Dương', 'Imaging (X-ray and ultrasound)', 'Dr. Lê Hoàng Phúc', 'Dr. Bùi Quốc Việt',
         'Dr. Phạm Thu Hà', 'Dr. Hồ Đức Thắng']


def view(index: int, name: str) -> queue.QueueView:
    prefix = ['A', 'B', 'L', 'KB', 'E', 'X', 'G', 'H', 'I', 'ABC'][index]
    now = utcnow()

    def ticket(number: int, status: TicketStatus) -> queue.TicketView:
        return queue.TicketView(id=index * 100 + number, queue_id=index, visit_id=number,
                                label=queue.ticket_label(prefix, number), spoken=queue.spoken_label(prefix, number),
                                status=status, priority=0, priority_reason='', patient_name='Nguyễn Văn An',
                                patient_code='P1', masked_name='Nguyễn V. A.', room_name='Consultation room 10',
                                room_code='R110', is_walk_in=True, appointment_at=None, arrived_at=now,
                                called_at=now, started_at=None, call_count=1, wait_minutes=number * 10)

    return queue.QueueView(id=index, name=name, prefix=prefix, kind=QueueKind.DOCTOR, doctor_id=index,
                           room_name='Consultation room 10', room_code='R110', typical_minutes=12,
                           active=[ticket(104, TicketStatus.CALLED)],
                           waiting=[ticket(number, TicketStatus.WAITING) for number in (105, 106, 107, 108)])


def page() -> str:
    from pages.board import CSS, card_markup, tongues
    views = [view(index, name) for index, name in enumerate(NAMES)]
    rows = math.ceil(len(views) / 2)
    english = tongues(('en',))
    cards = ''.join(f'<div class="board-card">{card_markup(v, english)}</div>' for v in views)
    return (f'<html><head><meta charset="utf-8"><style>{CSS}</style></head><body><div class="board">'
            f'<div class="board-grid board-dense" style="grid-template-rows: repeat({rows}, minmax(0, 1fr)); '
            f'grid-template-columns: repeat(2, minmax(0, 1fr))">{cards}</div></div></body></html>')


MEASURE = '''
const lines = (el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight));
return [...document.querySelectorAll(arguments[0])].map((el) => ({
  text: el.textContent, lines: lines(el), fits: el.scrollWidth <= el.clientWidth + 1,
  hidden: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1}));
'''


def test_ticket_numbers_stay_on_one_line_and_names_are_not_cut_on_a_full_board():
    tv = chromium(TV)
    try:
        tv.execute_cdp_cmd('Emulation.setDeviceMetricsOverride',
                           {'width': TV[0], 'height': TV[1], 'deviceScaleFactor': 1, 'mobile': False})
        tv.get('data:text/html;charset=utf-8,' + quote(page()))
        for selector in ('.board-now', '.board-next', '.board-room'):
            measured = tv.execute_script(MEASURE, selector)
            assert len(measured) == len(NAMES)
            assert all(m['lines'] == 1 and m['fits'] for m in measured), (selector, measured)
        names = tv.execute_script(MEASURE, '.board-who')
        assert [m['text'] for m in names] == NAMES
        assert all(m['lines'] <= 2 and not m['hidden'] for m in names), names
    finally:
        tv.quit()

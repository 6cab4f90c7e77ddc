"""A full blood count panel (18 values) on the ward's blood count, and a potassium value with critical limits, made
through the administrator's panel editing as a clinic would."""
from __future__ import annotations

from services import lab_results
from services.lab_results import RangeInput
from tests.clinical import Ward

# name, unit, low, high (for anyone); a first row of 18 that a full blood count prints
FULL_BLOOD_COUNT = [
    ('WBC', '10^9/L', '4.0', '10.0'), ('RBC', '10^12/L', '4.0', '5.8'), ('Hb', 'g/dL', '12.0', '17.0'),
    ('Hct', '%', '36', '50'), ('MCV', 'fL', '80', '100'), ('MCH', 'pg', '27', '33'), ('MCHC', 'g/dL', '32', '36'),
    ('RDW', '%', '11.5', '14.5'), ('Plt', '10^9/L', '150', '400'), ('MPV', 'fL', '7.5', '11.5'),
    ('Neut %', '%', '40', '75'), ('Lymph %', '%', '20', '45'), ('Mono %', '%', '2', '10'), ('Eos %', '%', '1', '6'),
    ('Baso %', '%', '0', '1'), ('Neut #', '10^9/L', '2.0', '7.5'), ('Lymph #', '10^9/L', '1.0', '4.0'),
    ('K', 'mmol/L', '3.5', '5.1'),
]


async def make_full_blood_count(db, ward: Ward) -> list[int]:
    """The 18 values on the ward's blood count, in order; K with critical limits 2.5 / 6.5. Returns their ids."""
    ids = []
    for name, unit, low, high in FULL_BLOOD_COUNT:
        async with db.write() as session:
            analyte = await lab_results.save_analyte(session, ward.clinic.admin, ward.clinic.lab_id, None,
                                                     name=name, unit=unit)
            critical = dict(critical_low='2.5', critical_high='6.5') if name == 'K' else {}
            await lab_results.save_range(session, ward.clinic.admin, analyte.id, None,
                                         RangeInput(low=low, high=high, **critical))
        ids.append(analyte.id)
    return ids

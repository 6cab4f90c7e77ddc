"""Colours and type sizes shared by every screen."""
from nicegui import ui

PRIMARY = '#0f766e'  # teal 700: calm, high contrast with white text


def apply() -> None:
    ui.colors(primary=PRIMARY, secondary='#334155', accent='#b45309', positive='#15803d', negative='#b91c1c',
              warning='#b45309', info='#0369a1')
    ui.query('body').classes('bg-slate-50 text-slate-900')

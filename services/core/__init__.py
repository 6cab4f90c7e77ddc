"""The foundation every service stands on: start-up settings, the database and its transactions, domain events
published after commit, migrations, the clock, money and the domain errors. Nothing here imports NiceGUI or any
other part of the app: rules run the same from a page, a test, a command-line tool or a second process."""

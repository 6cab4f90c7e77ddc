# Names that frameworks call, so that vulture (dead-code check in .ci/run) does not report them.
# SQLAlchemy type decorators
process_bind_param  # noqa
process_result_value  # noqa
# aiosmtpd handlers in the tests' SMTP servers
handle_DATA  # noqa
# pytest hooks
pytest_configure  # noqa
pytest_unconfigure  # noqa
# urllib's redirect handler (bench/startup.py)
redirect_request  # noqa
# the language layer, used by the pages as they are translated
show_in  # noqa
N_  # noqa

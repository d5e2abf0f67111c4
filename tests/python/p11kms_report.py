"""pytest plugin for tests/tests/interop_python_pkcs11.rs.

Writes one line per test to the file named by P11KMS_PYTEST_REPORT:
``<nodeid>\t<outcome>\t<detail>``, where outcome is one of passed, failed,
error, skipped, xfailed, xpassed, and detail is the one-line reason (the
exception's last line, or the skip reason). Load with ``-p p11kms_report``
and this directory on PYTHONPATH. It changes no test.

Isolation: unittest does not run tearDown when setUp fails, so a test whose
setUp fails after opening its logged-in session leaves that session open,
and every later test's C_Login answers CKR_USER_ALREADY_LOGGED_IN. After
each test that neither passed nor was skipped, the plugin calls the loaded
library's reinitialize() (C_Finalize, C_Initialize), so that every failure
reported is the test's own.
"""

import os

_results = {}


def _detail(report):
    if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0] if crash.message else ""
    text = str(report.longrepr or "")
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def pytest_runtest_logreport(report):
    nodeid = report.nodeid
    previous = _results.get(nodeid)
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
        _results[nodeid] = (outcome, str(report.wasxfail))
        return
    if report.when == "call":
        if previous is None or previous[0] == "passed":
            _results[nodeid] = (report.outcome, _detail(report) if report.outcome != "passed" else "")
    elif report.outcome == "failed":
        # setup or teardown failed
        if previous is None or previous[0] == "passed":
            _results[nodeid] = ("error", report.when + ": " + _detail(report))
    elif report.outcome == "skipped" and previous is None:
        _results[nodeid] = ("skipped", _detail(report))


def _reset_library():
    import pkcs11

    module = os.environ.get("PKCS11_MODULE")
    if module:
        try:
            pkcs11.lib(module).reinitialize()
        except Exception as error:  # noqa: BLE001 - best effort, reported
            print(f"p11kms_report: reinitialize failed: {error!r}")


def pytest_runtest_logfinish(nodeid, location):
    outcome = _results.get(nodeid, ("passed", ""))[0]
    if outcome not in ("passed", "skipped"):
        _reset_library()


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("P11KMS_PYTEST_REPORT")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as out:
        for nodeid, (outcome, detail) in sorted(_results.items()):
            detail = " ".join(detail.split())[:300]
            out.write(f"{nodeid}\t{outcome}\t{detail}\n")

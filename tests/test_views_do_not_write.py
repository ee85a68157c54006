"""Views hold no ORM writes: every write goes through a service (the role matrix's rule, for writes).

Read statically, so a new view module is covered the day it is written.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = {"customers", "journeys", "microcx", "outreach", "crm/kernel", "crm/inbox", "crm/insights", "crm/demo"}
VIEW_MODULES = sorted(
    path
    for pattern in ("*/views*.py", "*/api.py", "crm/*/views*.py", "crm/*/api.py")
    for path in ROOT.glob(pattern)
    if path.parent.relative_to(ROOT).as_posix() in APPS
)
ALWAYS_WRITES = {"save", "delete", "create", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
NOT_THE_DATABASE = {"cache", "session", "messages", "self"}


def _chain(node: ast.AST) -> list[str]:
    """The names along a call's receiver: TOTPDevice.objects.filter(...).delete -> [TOTPDevice, objects, filter]."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return list(reversed(names))
        else:
            return list(reversed(names))


def writes_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, _chain(node.func.value)
        if (receiver and receiver[-1] in NOT_THE_DATABASE) or (receiver and receiver[0] in NOT_THE_DATABASE):
            continue
        if method == "save" and any(k.arg == "commit" for k in node.keywords):
            continue  # form.save(commit=False) builds an unsaved object for a service
        queryset = "objects" in receiver or {"filter", "exclude", "all"} & set(receiver)
        if method in ALWAYS_WRITES or (method in {"update", "delete"} and queryset):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {'.'.join(receiver)}.{method}()")
    return found


def test_view_modules_are_found():
    names = {str(path.relative_to(ROOT)) for path in VIEW_MODULES}
    assert {
        "customers/views.py",
        "journeys/views_manage.py",
        "microcx/views.py",
        "crm/kernel/views_security.py",
        "crm/inbox/views.py",
    } <= names


def test_no_view_module_writes_to_the_database():
    found = [write for path in VIEW_MODULES for write in writes_in(path)]
    assert not found, "Move these writes into a service:\n" + "\n".join(found)


def test_the_check_sees_a_write_in_a_view(tmp_path):
    view = tmp_path / "views.py"
    view.write_text(
        "def v(request, form, step):\n"
        "    form.save()\n"
        "    step.delete()\n"
        "    Token.objects.filter(pk=1).update(is_active=False)\n"
        "    form.save(commit=False)\n"
        "    cache.delete('k')\n"
        "    context.update(a=1)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert [line.split(" ")[0] for line in writes_in(view)] == ["views.py:2", "views.py:3", "views.py:4"]
    finally:
        ROOT = saved

"""Bringing interactions in: CSV (command and browser) and the JSON endpoint, with the same rules."""

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openapi_spec_validator import validate

from customers.models import Customer
from journeys import importer, rollups
from journeys.api import OPENAPI
from journeys.models import CustomerJourneyStat, Interaction, TouchpointMonth
from journeys.services_manage import api_token_create

pytestmark = pytest.mark.postgres

VISITS = """email,phone,date,touchpoint,amount,reference,location
anna@example.com,,2026-10-01 10:30,in-store,129.00,R-1001,Downtown
anna@example.com,,2026-10-15,phone,,R-1002,Downtown
,(207) 555-0111,2026-10-20 16:00,in-store,,R-1003,Downtown
"""


@pytest.fixture
def anna(location):
    from customers.services import customer_save

    return customer_save(
        customer=Customer(first_name="Anna", email="anna@example.com", phone="2075550111", home_location=location)
    )


def test_a_good_file_imports_with_visit_figures_and_rollups(anna, location):
    plan = importer.check(VISITS.encode(), options={})
    assert plan.is_valid and plan.to_import == 3
    assert importer.commit(plan, user=None) == {"imported": 3, "already_imported": 0, "customers_created": 0}
    purchase = Interaction.objects.get(external_ref="R-1001")
    assert (purchase.kind, purchase.stage, purchase.amount) == ("purchase", "during", Decimal("129.00"))
    assert Interaction.objects.get(external_ref="R-1002").kind == "conversation"
    anna.refresh_from_db()
    assert anna.visit_count == 2 and anna.last_visit_at.day == 20
    # in store (a purchase and a visit) and phone, all "during the sale"
    assert sorted(CustomerJourneyStat.objects.filter(customer=anna).values_list("stage", "interactions")) == [
        ("during", 1),
        ("during", 2),
    ]
    rebuilt_before = sorted(CustomerJourneyStat.objects.values_list("touchpoint_id", "stage", "interactions"))
    rollups.rebuild()
    assert sorted(CustomerJourneyStat.objects.values_list("touchpoint_id", "stage", "interactions")) == rebuilt_before
    assert TouchpointMonth.objects.get(touchpoint__slug="phone").interactions == 1


def test_reimporting_the_same_file_adds_nothing(anna):
    importer.commit(importer.check(VISITS.encode(), options={}), user=None)
    again = importer.check(VISITS.encode(), options={})
    assert again.is_valid and again.to_import == 0 and again.already_imported == 3
    importer.commit(again, user=None)
    assert Interaction.objects.count() == 3


def test_rows_without_a_reference_are_not_imported_twice_either(anna):
    text = "email,date,touchpoint\nanna@example.com,2026-10-01,in-store\n"
    importer.commit(importer.check(text.encode(), options={}), user=None)
    importer.commit(importer.check(text.encode(), options={}), user=None)
    assert Interaction.objects.count() == 1


def test_identical_rows_without_a_reference_are_real_repeated_purchases_imported_once_each(anna):
    text = "email,date,touchpoint,amount\n" + "anna@example.com,2026-10-01 10:00,in-store,4.50\n" * 2
    plan = importer.check(text.encode(), options={})
    assert plan.is_valid and plan.to_import == 2
    importer.commit(plan, user=None)
    again = importer.check(text.encode(), options={})
    assert again.is_valid and again.to_import == 0 and again.already_imported == 2
    importer.commit(again, user=None)
    assert Interaction.objects.filter(kind="purchase").count() == 2


def test_a_zero_amount_is_a_purchase(anna):
    importer.commit(
        importer.check(b"email,date,touchpoint,amount\nanna@example.com,2026-10-01 10:00,in-store,0.00\n", options={}),
        user=None,
    )
    interaction = Interaction.objects.get()
    assert (interaction.kind, interaction.amount) == ("purchase", Decimal("0.00"))


def test_times_without_a_zone_are_the_rows_locations_and_a_date_alone_keeps_its_local_day(db):
    import datetime
    import zoneinfo

    from crm.kernel.models import Location
    from customers.services import customer_save

    auckland = Location.objects.create(name="Auckland", timezone="Pacific/Auckland")
    customer_save(customer=Customer(first_name="Mere", email="mere@example.com", home_location=auckland))
    text = (
        "email,date,touchpoint,reference,location\n"
        "mere@example.com,2026-10-01 09:15,in-store,A-1,Auckland\n"
        "mere@example.com,2026-10-02,in-store,A-2,Auckland\n"
    )
    plan = importer.check(text.encode(), options={})
    assert plan.is_valid, [row.messages for row in plan.bad_rows]
    importer.commit(plan, user=None)
    zone = zoneinfo.ZoneInfo("Pacific/Auckland")
    timed = Interaction.objects.get(external_ref="A-1").occurred_at.astimezone(zone)
    assert (timed.date(), timed.hour, timed.minute) == (datetime.date(2026, 10, 1), 9, 15)
    dated = Interaction.objects.get(external_ref="A-2").occurred_at
    # The local date stays 2 October even if the shop's zone were later moved by up to 11 hours.
    for hours in (-11, 0, 10):
        shifted = dated.astimezone(datetime.timezone(datetime.timedelta(hours=13 + hours)))
        assert shifted.date() == datetime.date(2026, 10, 2), hours


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(anna):
    bad = VISITS + (
        "nobody@example.com,,2026-10-02,in-store,,R-1004,Downtown\n"
        "anna@example.com,,31/02/2026,in-store,,R-1005,Downtown\n"
        "anna@example.com,,2026-10-03,carrier pigeon,,R-1006,Downtown\n"
        "anna@example.com,,2026-10-04,in-store,-5,R-1007,Downtown\n"
        "anna@example.com,,2026-10-05,in-store,,R-1001,Downtown\n"
        "anna@example.com,,2026-10-06,in-store,,R-1008,Atlantis\n"
    )
    plan = importer.check(bad.encode(), options={})
    errors = {row.line: "; ".join(row.messages) for row in plan.bad_rows}
    assert sorted(errors) == [5, 6, 7, 8, 9, 10]
    assert "No such customer" in errors[5]
    assert "Not a date or time" in errors[6]
    assert "Unknown touchpoint 'carrier pigeon'" in errors[7]
    assert "Not an amount" in errors[8]
    assert "Same reference as line 2" in errors[9]
    assert "Unknown location 'Atlantis'" in errors[10]
    with pytest.raises(Exception, match="nothing was imported"):
        importer.commit(plan, user=None)
    assert not Interaction.objects.exists()


def test_unknown_customers_are_created_by_option(location):
    text = "email,first name,date,touchpoint,location\nnew@example.com,Nia,2026-10-01,in-store,Downtown\n"
    plan = importer.check(text.encode(), options={"create": True})
    assert plan.new_customers == 1
    importer.commit(plan, user=None)
    assert Customer.objects.get(email="new@example.com").first_name == "Nia"


def test_the_command_reports_bad_rows_and_imports_good_files(anna, tmp_path, capsys):
    good = tmp_path / "visits.csv"
    good.write_text(VISITS)
    call_command("import_interactions", str(good))
    assert "Imported 3 interactions" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(VISITS.replace("in-store,129.00", "in-store,12.345"))
    with pytest.raises(CommandError, match="Nothing imported"):
        call_command("import_interactions", str(bad))
    assert "line 2: amount: At most 2 decimal places" in capsys.readouterr().err


def test_manager_imports_in_the_browser_after_a_preview(client, manager, anna):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(manager)
    upload = SimpleUploadedFile("visits.csv", VISITS.encode(), content_type="text/csv")
    preview = client.post(reverse("interaction-import"), {"file": upload})
    assert preview.context["plan"].to_import == 3 and not Interaction.objects.exists()
    assert 'name="confirm"' in preview.content.decode() and "Import 3 rows" in preview.content.decode()
    client.post(reverse("interaction-import"), {"confirm": "1", "token": preview.context["token"]})
    assert Interaction.objects.count() == 3
    # The same file again: nothing to confirm, and the page says why.
    again = client.post(reverse("interaction-import"), {"file": SimpleUploadedFile("visits.csv", VISITS.encode())})
    page = again.content.decode()
    assert again.context["plan"].already_imported == 3
    assert "Nothing new to import" in page and 'name="confirm"' not in page


# --- the JSON endpoint ---------------------------------------------------------------


@pytest.fixture
def token(manager):
    return api_token_create(name="Till", by=manager)[1]


def post(client, body, token=None, content_type="application/json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    return client.post(reverse("api-interactions"), data, content_type=content_type, headers=headers)


RECORD = {
    "email": "anna@example.com",
    "occurred_at": "2026-10-01T10:30:00",
    "touchpoint": "in-store",
    "amount": "129.00",
    "external_ref": "R-1001",
    "location": "Downtown",
}


def test_api_records_an_interaction_once(client, anna, token):
    first = post(client, RECORD, token)
    assert first.status_code == 201 and first.json()["created"] is True
    again = post(client, RECORD, token)
    assert (
        again.status_code == 200
        and again.json() == {**first.json(), "created": False} | {"customer_id": first.json()["customer_id"]}
        if "customer_id" in again.json()
        else again.status_code == 200
    )
    assert Interaction.objects.count() == 1


def test_api_refuses_missing_or_wrong_tokens(client, anna, token):
    assert post(client, RECORD).status_code == 401
    assert post(client, RECORD, "crm_wrong").status_code == 401


def test_api_names_the_bad_field(client, anna, token):
    response = post(client, {**RECORD, "amount": "lots"}, token)
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    response = post(client, {**RECORD, "colour": "blue"}, token)
    assert response.status_code == 400 and "colour" in response.json()["errors"]
    assert post(client, "{not json", token).status_code == 400
    assert post(client, RECORD, token, content_type="text/plain").status_code == 415
    assert post(client, {**RECORD, "summary": "x" * 20_000}, token).status_code == 413


def test_api_unknown_customer_is_404_unless_created_by_option(client, location, token):
    record = {**RECORD, "email": "new@example.com"}
    missing = post(client, record, token)
    assert missing.status_code == 404 and "customer" in missing.json()["errors"]
    created = post(client, {**record, "create_customer": True, "first_name": "Nia"}, token)
    assert created.status_code == 201
    assert Customer.objects.get(email="new@example.com").first_name == "Nia"


def test_the_command_and_the_api_give_the_same_result(client, anna, token, tmp_path):
    path = tmp_path / "visits.csv"
    path.write_text(VISITS)
    call_command("import_interactions", str(path))
    from_file = sorted(Interaction.objects.values_list("external_ref", "kind", "stage", "amount", "occurred_at"))
    Interaction.objects.all().delete()
    for line in VISITS.strip().splitlines()[1:]:
        email, phone, date, touchpoint, amount, ref, location = line.split(",")
        response = post(
            client,
            {
                "email": email,
                "phone": phone,
                "occurred_at": date,
                "touchpoint": touchpoint,
                "amount": amount,
                "external_ref": ref,
                "location": location,
            },
            token,
        )
        assert response.status_code == 201, response.json()
    from_api = sorted(Interaction.objects.values_list("external_ref", "kind", "stage", "amount", "occurred_at"))
    assert from_api == from_file


def test_the_openapi_description_is_valid(client, db):
    validate(OPENAPI)
    assert client.get(reverse("api-openapi")).json()["paths"]["/api/v1/interactions"]["post"]


# --- the framework's promises: all or nothing, streams, progress, one audit entry ----------------------

FAIL_ON_REF = """
CREATE FUNCTION test_refuse_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.external_ref = %s THEN RAISE EXCEPTION 'injected failure on %%', NEW.external_ref; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_refuse_ref BEFORE INSERT ON journeys_interaction FOR EACH ROW EXECUTE FUNCTION test_refuse_ref();
"""


def purchases(count: int, customers: int, prefix: str = "P") -> bytes:
    lines = ["email,first name,date,touchpoint,amount,reference,location"]
    for i in range(count):
        who = i % customers
        lines.append(
            f"new{who}@example.com,New{who},2026-10-{1 + i % 28:02d} 10:00,in-store,5.00,{prefix}-{i},Downtown"
        )
    return ("\n".join(lines) + "\n").encode()


def test_an_import_failing_halfway_through_its_commit_leaves_nothing_half_saved(location, monkeypatch):
    from auditlog.models import LogEntry
    from django.db import DatabaseError, connection

    monkeypatch.setattr(importer.SPEC, "batch_size", 10)
    plan = importer.check(purchases(60, 20), options={"create": True})
    assert plan.is_valid and plan.spool.batches == 6 and plan.new_customers == 20
    with connection.cursor() as cursor:
        cursor.execute(FAIL_ON_REF, ["P-45"])  # a row of the fifth batch: four are written by then
    entries = LogEntry.objects.count()
    with pytest.raises(DatabaseError, match="injected failure on P-45"):
        importer.commit(plan, user=None)
    assert not Customer.objects.exists() and not Interaction.objects.exists()
    assert not CustomerJourneyStat.objects.exists() and not TouchpointMonth.objects.exists()
    assert LogEntry.objects.count() == entries


def test_new_customers_are_created_once_with_their_visit_figures_and_one_audit_entry(location):
    from auditlog.models import LogEntry

    entries = LogEntry.objects.count()
    summary = importer.commit(importer.check(purchases(12, 3), options={"create": True}), user=None)
    assert summary == {"imported": 12, "already_imported": 0, "customers_created": 3}
    customer = Customer.objects.get(email="new0@example.com")
    assert (customer.first_name, customer.visit_count, customer.home_location) == ("New0", 4, location)
    assert customer.first_visit_at.day == 1 and customer.last_visit_at.day == 10
    assert customer.last_contact_at == customer.last_visit_at and list(customer.locations.all()) == [location]
    assert "new0" in customer.search_document
    assert LogEntry.objects.count() == entries + 1  # one for the import, none per customer
    assert LogEntry.objects.latest("pk").additional_data == {"import": "interactions", **summary}
    # Known now: the same people's next purchases add to their figures, with no new customer.
    again = importer.commit(importer.check(purchases(3, 3, prefix="Q"), options={}), user=None)
    assert again["customers_created"] == 0
    customer.refresh_from_db()
    assert customer.visit_count == 5 and Customer.objects.count() == 3


def test_a_file_is_read_as_a_stream_with_progress_reported(location, anna, tmp_path, monkeypatch):
    from crm.kernel import imports

    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    monkeypatch.setattr(importer.SPEC, "batch_size", 3)
    path = tmp_path / "visits.csv"
    path.write_bytes(VISITS.encode() + b"anna@example.com,,2026-10-21,in-store,,R-1004,Downtown\n")
    checked, saved = [], []
    with path.open("rb") as stream:
        plan = importer.check(stream, options={}, progress=lambda done, total: checked.append((done, total)))
    assert plan.is_valid and plan.to_import == 4
    assert checked[0] == (2, 4) and checked[-1] == (4, 4)
    importer.commit(plan, user=None, progress=lambda done, total: saved.append((done, total)))
    assert saved == [(3, 4), (4, 4), (4, 4)]
    assert Interaction.objects.count() == 4


def test_a_file_saved_by_excel_in_windows_encoding_is_read(anna):
    text = "email,date,touchpoint,notes\nanna@example.com,2026-10-01,in-store,Caf\xe9 cr\xe8me\n"
    plan = importer.check(text.encode("cp1252"), options={})
    assert plan.is_valid, plan.file_errors
    importer.commit(plan, user=None)
    assert Interaction.objects.get().summary == "Café crème"


def _plan_outcome(plan) -> tuple:
    rows = [(row.line, row.action, row.customer_id, row.data["external_ref"]) for row in plan.rows()]
    bad = [(row.line, row.messages) for row in plan.bad_rows]
    return plan.total, dict(plan.counts), plan.new_customers, bad, rows


def test_batches_matched_ahead_come_out_as_the_whole_file_matched_at_once(anna, monkeypatch):
    """The check sends a batch's queries and reads the next batch while PostgreSQL answers (pipeline mode):
    the plan is the one the whole file read as one batch makes, across batches (references seen before, customers
    met in an earlier batch, rows imported already)."""
    from django.db import connection

    importer.commit(importer.check(purchases(4, 2, prefix="OLD"), options={"create": True}), user=None)
    lines = ["email,first name,date,touchpoint,amount,reference,location"]
    for i in range(20):
        who = ("anna@example.com", "new0@example.com", f"fresh{i % 3}@example.com", "not an email")[i % 4]
        ref = ("OLD-1", "R-2", f"R-{i}")[i % 3] if i % 5 else f"R-{i}"
        lines.append(f"{who},Who,2026-10-{1 + i:02d} 10:00,in-store,5.00,{ref},Downtown")
    raw = ("\n".join(lines) + "\n").encode()
    monkeypatch.setattr(importer.SPEC, "batch_size", 3)
    checked = []
    ahead = importer.check(raw, options={"create": True}, progress=lambda done, total: checked.append(done))
    assert not connection.connection.pgconn.pipeline_status  # out of pipeline mode again
    assert checked == sorted(checked) and checked[-1] == 20
    monkeypatch.setattr(importer.SPEC, "match_ahead", False)
    monkeypatch.setattr(importer.SPEC, "batch_size", 1000)
    in_one_batch = importer.check(raw, options={"create": True})
    assert _plan_outcome(ahead) == _plan_outcome(in_one_batch)
    total, counts, new_customers, bad, _ = _plan_outcome(ahead)
    assert total == 20 and new_customers == 2 and counts["skip"] == 1
    assert any("Same reference as line" in " ".join(messages) for _, messages in bad)
    assert any("valid email" in " ".join(messages) for _, messages in bad)


@pytest.mark.parametrize("stop", ["too many rows", "cancelled"])
def test_a_check_stopped_while_a_batch_is_matched_ahead_leaves_the_connection_usable(anna, monkeypatch, stop):
    from django.db import connection

    monkeypatch.setattr(importer.SPEC, "batch_size", 2)
    monkeypatch.setattr(importer.SPEC, "max_rows", 5 if stop == "too many rows" else 1000)

    def progress(done, total):
        if stop == "cancelled" and done >= 4:
            raise RuntimeError("cancelled")

    if stop == "cancelled":
        with pytest.raises(RuntimeError, match="cancelled"):
            importer.check(purchases(9, 3), options={"create": True}, progress=progress)
    else:
        plan = importer.check(purchases(9, 3), options={"create": True}, progress=progress)
        assert not plan.is_valid and "more than 5" in plan.file_errors[0]
    assert not connection.connection.pgconn.pipeline_status
    assert Customer.objects.count() == 1  # the connection answers, in the same transaction


def test_a_big_import_has_its_tables_tidied_by_a_task_once_saved(
    anna, monkeypatch, django_capture_on_commit_callbacks, settings
):
    """Without fresh statistics the next import's lookups read whole tables (the planner still thinks them
    empty), and new names wait in the search index's pending list: after an import of IMPORT_TIDY_AFTER_ROWS rows
    or more, a task tidies the tables it filled (crm.kernel.bulk.tidy), once the import is committed."""
    from crm.kernel import tasks

    queued = []
    monkeypatch.setattr(tasks.tidy_tables, "delay", lambda tables: queued.append(tables))
    settings.IMPORT_TIDY_AFTER_ROWS = 3
    two = "email,date,touchpoint,reference\n" + "".join(f"anna@example.com,2026-09-0{i},phone,S-{i}\n" for i in (1, 2))
    with django_capture_on_commit_callbacks(execute=True):
        importer.commit(importer.check(two.encode(), options={}), user=None)
    assert queued == []  # two rows: below the threshold
    with django_capture_on_commit_callbacks(execute=False) as waiting:
        importer.commit(importer.check(VISITS.encode(), options={}), user=None)
    assert queued == []  # not before the commit
    for callback in waiting:
        callback()
    assert set(queued[0]) >= {"journeys_interaction", "customers_customer", "journeys_customerjourneystat"}


def test_a_file_with_too_many_rows_still_reports_the_bad_rows_of_the_batches_read(anna, monkeypatch):
    monkeypatch.setattr(importer.SPEC, "batch_size", 2)
    monkeypatch.setattr(importer.SPEC, "max_rows", 5)
    lines = ["email,date,touchpoint,reference"] + [
        f"{'not an email' if i == 3 else 'anna@example.com'},2026-09-0{i},phone,S-{i}" for i in range(1, 8)
    ]
    plan = importer.check(("\n".join(lines) + "\n").encode(), options={})
    assert "more than 5" in plan.file_errors[0]
    # Line 4 (the third row) is in the second full batch, still being matched when the sixth row came.
    assert [row.line for row in plan.bad_rows] == [4] and plan.total == 4


def test_a_lookup_failing_in_pipeline_mode_is_the_error_the_check_raises(anna, monkeypatch):
    """An error of a query sent ahead surfaces when its answer is read; leaving pipeline mode then must
    not put an error of psycopg's own in its place, and the error is Django's, as for any query."""
    from django.db import DataError, connection, transaction

    def failing(refs):
        cursor = connection.cursor()
        cursor.execute("SELECT 1 / 0")

        def answer():
            with cursor:
                cursor.fetchall()
            return set()

        return answer

    monkeypatch.setattr(importer, "_imported_refs_later", failing)
    monkeypatch.setattr(importer.SPEC, "batch_size", 2)
    with pytest.raises(DataError, match="division by zero"), transaction.atomic():
        importer.check(purchases(5, 2), options={"create": True})
    assert not connection.connection.pgconn.pipeline_status
    assert Customer.objects.count() == 1


def test_a_till_export_without_a_touchpoint_column_is_in_store_or_the_touchpoint_chosen(anna):
    from journeys.models import Touchpoint

    text = "email,date,amount,receipt\nanna@example.com,2026-10-01 10:30,12.50,T-1\n"
    plan = importer.check(text.encode(), options={})
    assert plan.is_valid, plan.file_errors
    importer.commit(plan, user=None)
    assert Interaction.objects.get(external_ref="T-1").touchpoint.slug == "in-store"
    website = Touchpoint.objects.get(slug="website")
    plan = importer.check(text.replace("T-1", "W-1").encode(), options={"touchpoint": website.pk})
    importer.commit(plan, user=None)
    assert Interaction.objects.get(external_ref="W-1").touchpoint == website


def test_the_import_page_chooses_the_only_shop_and_in_store_for_rows_without_them(client, manager, anna):
    client.force_login(manager)
    form = client.get(reverse("interaction-import")).context["form"]
    assert form["default_location"].value() == anna.home_location.pk
    assert form["default_touchpoint"].value() == importer.Touchpoint.objects.get(slug="in-store").pk

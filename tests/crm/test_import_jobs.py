"""Import jobs: a big file is checked and imported by tasks (queued on commit), its page shows the
progress and then the summary, the person hears of it in the inbox, and a task delivered twice imports once."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.inbox.models import Notification
from crm.kernel import import_jobs, tasks
from crm.kernel.models import ImportJob
from customers.models import Customer
from journeys.models import Interaction
from tests.crm.factories import UserFactory

pytestmark = pytest.mark.postgres


def customers_csv(count: int, start: int = 0) -> bytes:
    lines = ["first name,last name,email,location"]
    lines += [f"Ann{n},Lee,ann{n}@example.com,Downtown" for n in range(start, start + count)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def queued(monkeypatch):
    """The tasks the code queued (after its transaction committed), by name and arguments, not yet run."""
    sent = []
    monkeypatch.setattr(tasks.check_import_job, "delay", lambda *args: sent.append(("check", args)))
    monkeypatch.setattr(tasks.commit_import_job, "delay", lambda *args: sent.append(("commit", args)))
    return sent


def run(sent):
    """Run the queued tasks as a worker would, emptying the queue."""
    while sent:
        name, args = sent.pop(0)
        (tasks.check_import_job if name == "check" else tasks.commit_import_job)(*args)


@pytest.fixture
def small_threshold(settings):
    settings.IMPORT_BACKGROUND_ROWS = 5


def upload_customers(client, raw: bytes, location):
    return client.post(
        reverse("customer-import"),
        {"file": SimpleUploadedFile("customers.csv", raw, content_type="text/csv"), "default_location": location.pk},
    )


def test_a_big_customer_file_is_checked_by_a_task_queued_on_commit(
    client, manager, location, small_threshold, queued, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload_customers(client, customers_csv(8), location)
    job = ImportJob.objects.get(kind="customer_import")
    assert response.status_code == 302 and response["Location"] == reverse("import-job", args=[job.pk])
    assert job.background and job.state == "checking" and job.rows_total == 8 and job.location == location
    assert bytes(job.raw) == customers_csv(8)
    assert queued == [("check", (job.pk,))]
    page = client.get(reverse("import-job", args=[job.pk]))
    assert b'data-testid="import-progress"' in page.content and b"<progress" in page.content

    run(queued)
    job.refresh_from_db()
    assert job.state == "checked" and job.rows_checked == 8 and job.bad_rows == []
    note = Notification.objects.get(recipient=manager, import_job=job)
    assert note.kind == "import_checked" and "confirm" in note.title and note.url.endswith(f"/imports/{job.pk}/")
    assert not Customer.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("import-job-confirm", args=[job.pk]))
    assert response.status_code == 302 and queued == [("commit", (job.pk, manager.pk))]
    run(queued)
    job.refresh_from_db()
    assert job.state == "done" and job.rows_imported == 8 and bytes(job.raw) == b""
    assert job.summary["created"] == 8 and "8 new customers" in job.summary["text"]
    assert Customer.objects.count() == 8
    done = Notification.objects.get(recipient=manager, import_job=job, kind="import_finished")
    assert "8 new customers" in done.title
    page = client.get(reverse("import-job", args=[job.pk]))
    assert b'data-testid="import-summary"' in page.content and b"8 new customers" in page.content


def test_a_big_file_with_bad_rows_says_which_lines_and_cannot_be_confirmed(
    client, manager, location, small_threshold, queued, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    raw = customers_csv(6) + b"Bad,Row,not-an-email,Downtown\n"
    with django_capture_on_commit_callbacks(execute=True):
        upload_customers(client, raw, location)
    run(queued)
    job = ImportJob.objects.get()
    assert job.state == "checked" and [row["line"] for row in job.bad_rows] == [8]
    page = client.get(reverse("import-job", args=[job.pk]))
    assert b'data-testid="bad-row"' in page.content and b"import-confirm" not in page.content
    response = client.post(reverse("import-job-confirm", args=[job.pk]), follow=True)
    assert b"cannot be started" in response.content and queued == [] and not Customer.objects.exists()


def test_a_task_delivered_twice_imports_once(
    manager, location, small_threshold, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = import_jobs.import_job_start(
            kind="customer_import",
            user=manager,
            raw=customers_csv(7),
            file_name="customers.csv",
            options={"location": location.pk, "locations": [location.pk]},
        )
    assert tasks.check_import_job(job.pk) == "checked"
    assert tasks.check_import_job(job.pk) == "not waiting"
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        import_jobs.import_job_confirm(job=ImportJob.objects.get(pk=job.pk), user=manager)
    assert tasks.commit_import_job(job.pk, manager.pk) == "done"
    assert tasks.commit_import_job(job.pk, manager.pk) == "not importing"
    assert Customer.objects.count() == 7
    with pytest.raises(import_jobs.ImportJobClosed):
        import_jobs.import_job_confirm(job=ImportJob.objects.get(pk=job.pk), user=manager)


def test_an_import_cancelled_halfway_leaves_nothing_half_saved(manager, location, small_threshold, monkeypatch):
    job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=manager,
        location=location,
        kind="interaction_import",
        raw=b"email,occurred_at,touchpoint,kind,amount\n"
        + b"".join(f"c{n}@example.com,2026-10-01 10:00,in-store,purchase,5.00\n".encode() for n in range(6)),
        options={"location": location.pk, "create": True},
        state=ImportJob.State.IMPORTING,
        background=True,
        rows_total=6,
    )
    kind = import_jobs.KINDS["interaction_import"]
    real_commit = kind.commit

    def commit_then_cancelled(plan, *, user, progress=None):
        real_commit(plan, user=user)  # everything written ...
        import_jobs.import_job_cancel(job=ImportJob.objects.get(pk=job.pk))  # ... when the person cancels
        progress(3, 6)  # the next progress step notices, and the transaction rolls back
        return {}

    monkeypatch.setitem(
        import_jobs.KINDS, "interaction_import", kind.__class__(**{**kind.__dict__, "commit": commit_then_cancelled})
    )
    assert tasks.commit_import_job(job.pk, manager.pk) == "cancelled"
    job.refresh_from_db()
    assert job.state == "cancelled" and bytes(job.raw) == b""
    assert not Interaction.objects.exists() and not Customer.objects.exists()


def test_small_files_stay_in_the_request_as_before(client, manager, location):
    client.force_login(manager)
    response = upload_customers(client, customers_csv(3), location)
    assert response.status_code == 200 and response.context["plan"].to_create == 3
    job = ImportJob.objects.get(token=response.context["token"])
    assert not job.background and job.state == "checked"


def test_the_progress_partial_reloads_the_page_once_its_phase_ends(client, manager, location):
    job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=manager,
        location=location,
        kind="customer_import",
        state="checking",
        rows_total=9000,
    )
    client.force_login(manager)
    import_jobs.Progress(job, "checked")(3000, 9000)
    partial = client.get(reverse("import-job-progress", args=[job.pk]), {"state": "checking"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "HX-Refresh" not in partial
    assert b'value="3000"' in partial.content and b"left" in partial.content
    ImportJob.objects.filter(pk=job.pk).update(state="checked")
    partial = client.get(reverse("import-job-progress", args=[job.pk]), {"state": "checking"}, HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true"


def test_a_job_is_seen_only_by_its_creator_and_the_business_s_managers_and_owners(
    client, manager, owner, frontline, location, other_location
):
    job = ImportJob.objects.create(
        token=uuid.uuid4(), created_by=manager, location=location, kind="customer_import", state="checked"
    )
    url = reverse("import-job", args=[job.pk])
    # Managers see every location's customers (crm.view_all_locations), so every location's imports too.
    other_manager = UserFactory(role="manager", username="otto", locations=[other_location])
    for user, status in ((manager, 200), (owner, 200), (other_manager, 200), (frontline, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status, user


def test_the_job_page_reads_a_fixed_number_of_queries(client, manager, location, django_assert_max_num_queries):
    job = ImportJob.objects.create(
        token=uuid.uuid4(),
        created_by=manager,
        location=location,
        kind="customer_import",
        state="checked",
        rows_total=3,
        preview=["Spreadsheet, 3 customers", "3 new"],
    )
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("import-job", args=[job.pk])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("import-job-progress", args=[job.pk]), {"state": "checked"}).status_code == 200


def test_a_job_cancelled_while_it_waits_for_a_worker_is_never_checked_or_imported(
    client, manager, location, small_threshold, queued, django_capture_on_commit_callbacks
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        upload_customers(client, customers_csv(9), location)
    job = ImportJob.objects.get()
    response = client.post(reverse("import-job-cancel", args=[job.pk]), follow=True)
    assert b"Cancelled. Nothing from this file is imported." in response.content
    run(queued)  # the worker gets to it afterwards
    job.refresh_from_db()
    assert job.state == "cancelled" and bytes(job.raw) == b"" and job.checked_at is None
    assert not Customer.objects.exists() and not Notification.objects.filter(import_job=job).exists()
    response = client.post(reverse("import-job-cancel", args=[job.pk]), follow=True)
    assert b"already ended" in response.content


def test_an_import_whose_task_was_lost_is_failed_by_the_hourly_tidy_up(manager, location, time_at):
    import datetime

    from django.utils import timezone

    from crm.kernel import uploads

    now = timezone.now()
    time_at(now - datetime.timedelta(hours=3))
    lost = ImportJob.objects.create(
        token=uuid.uuid4(), created_by=manager, kind="customer_import", raw=b"first_name\nZed\n", state="importing"
    )
    ImportJob.objects.filter(pk=lost.pk).update(started_at=timezone.now())
    time_at(now)
    running = ImportJob.objects.create(
        token=uuid.uuid4(), created_by=manager, kind="customer_import", raw=b"first_name\nAmy\n", state="importing"
    )
    ImportJob.objects.filter(pk=running.pk).update(started_at=timezone.now())
    assert uploads.forget_abandoned() == 1
    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.state == "failed" and bytes(lost.raw) == b"" and "try again" in lost.error
    assert running.state == "importing"

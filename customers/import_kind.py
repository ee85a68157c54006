"""The customer import as a kind of import job (crm.kernel.import_jobs): the import framework's
`check`/`commit` (crm.kernel.imports, customers.importer) as they are, and what the job page shows of a plan."""

from django.utils.html import strip_tags

from crm.kernel import import_jobs
from customers import importer

NAME = "customer_import"

check, commit, summarise = importer.check, importer.commit, importer.done_message


def describe(plan) -> dict:
    bad = [{"line": None, "messages": [error]} for error in plan.file_errors]
    bad += [{"line": row.line, "messages": row.messages} for row in plan.bad_rows]
    return {"total": plan.total, "preview": [] if bad else [plan.summary, strip_tags(plan.ready)], "bad_rows": bad}


def register() -> None:
    import_jobs.register(
        import_jobs.ImportKind(
            name=NAME,
            label="customers",
            permission="customers.import_customers",
            upload_url="customer-import",
            check=check,
            commit=commit,
            describe=describe,
            summarise=summarise,
        )
    )

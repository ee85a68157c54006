"""The customer import as a kind of import job (crm.kernel.import_jobs): the import framework's
`check`/`commit` (crm.kernel.imports, customers.importer) as they are."""

from crm.kernel import import_jobs
from customers import importer

NAME = "customer_import"

check, commit, summarise = importer.check, importer.commit, importer.done_message


def register() -> None:
    import_jobs.register(
        import_jobs.ImportKind(
            name=NAME,
            label="customers",
            permission="customers.import_customers",
            upload_url="customer-import",
            check=check,
            commit=commit,
            summarise=summarise,
        )
    )

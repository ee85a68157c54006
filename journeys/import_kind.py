"""The visit and purchase import as a kind of import job (crm.kernel.import_jobs): the import framework's
`check`/`commit` (crm.kernel.imports, journeys.importer) as they are."""

from crm.kernel import import_jobs
from journeys import importer

NAME = "interaction_import"

check, commit, summarise = importer.check, importer.commit, importer.done_message


def register() -> None:
    import_jobs.register(
        import_jobs.ImportKind(
            name=NAME,
            label="visits and purchases",
            permission="journeys.import_interactions",
            upload_url="interaction-import",
            check=check,
            commit=commit,
            summarise=summarise,
        )
    )

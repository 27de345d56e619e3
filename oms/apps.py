from django.apps import AppConfig


class OmsConfig(AppConfig):
    name = "oms"
    verbose_name = "OMS"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from oms.roles import groups_ensure

        post_migrate.connect(groups_ensure, sender=self)
        from oms.api import schema  # noqa: F401  registers the OpenAPI schema's extension before any schema is made

"""The bare view benchmarks/http_load.py measures pages against exists only under BENCHMARK_VIEWS."""

import pytest
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.postgres


def test_the_bare_benchmark_view_is_not_routed_unless_the_benchmark_turns_it_on(client, frontline, location):
    from django.conf import settings

    assert settings.BENCHMARK_VIEWS is False
    with pytest.raises(NoReverseMatch):
        reverse("bench-floor", args=[location.pk])
    client.force_login(frontline)
    assert client.get(f"/bench/floor/{location.pk}/").status_code == 404
